package io.conclave.daemon.raft;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.testing.Futures;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A {@code --dev} daemon with the Raft runtime: one in-memory server that leads at once, so health
 * passes as soon as the start returns, and the Raft endpoints show the one-voter group.
 */
class RaftDevTest {
  static final ObjectMapper JSON = new ObjectMapper();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final List<Daemon> daemons = new ArrayList<>();

  @AfterEach
  void stopAll() {
    daemons.forEach(d -> d.stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  static DaemonConfig devConfig(String node) {
    return ((ConfigLoader.Run) new ConfigLoader(() -> node).load("--dev", "--node", node,
        "--http-port", "0", "--gossip-port", "0", "--raft-port", "0")).config();
  }

  HttpResponse<String> send(Daemon daemon, String method, String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.httpPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(5)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void devServerLeadsAtOnceAndHealthPasses() throws Exception {
    RaftClusterRuntime runtime = RaftClusterRuntime.standalone(StateMachine.NONE);
    Daemon daemon = Daemon.start(devConfig("d1"), runtime, Duration.ofSeconds(20));
    daemons.add(daemon);
    String raftAddress = "127.0.0.1:" + daemon.raftPort();

    HttpResponse<String> health = send(daemon, "GET", "/v1/health");
    assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(health.body());
    assertThat(body.get("status").asText()).isEqualTo("passing");
    assertThat(body.get("role").asText()).isEqualTo("leader");
    assertThat(body.get("leader").asText()).isEqualTo(raftAddress);
    assertThat(body.get("term").asLong()).isPositive();
    assertThat(body.get("last_contact_ms").asLong()).isZero();

    assertThat(JSON.readTree(send(daemon, "GET", "/v1/status/leader").body()).asText()).isEqualTo(raftAddress);
    JsonNode peers = JSON.readTree(send(daemon, "GET", "/v1/status/peers").body());
    assertThat(peers.isArray()).isTrue();
    assertThat(peers).hasSize(1);
    assertThat(peers.get(0).asText()).isEqualTo(raftAddress);

    JsonNode configuration = JSON.readTree(send(daemon, "GET", "/v1/operator/raft/configuration").body());
    assertThat(configuration.get("Index").asLong()).isEqualTo(1);
    JsonNode server = configuration.get("Servers").get(0);
    assertThat(server.get("ID").asText()).isEqualTo("d1");
    assertThat(server.get("Node").asText()).isEqualTo("d1");
    assertThat(server.get("Address").asText()).isEqualTo(raftAddress);
    assertThat(server.get("Leader").asBoolean()).isTrue();
    assertThat(server.get("Voter").asBoolean()).isTrue();

    HttpResponse<String> transfer = send(daemon, "POST", "/v1/operator/raft/transfer-leader");
    assertThat(transfer.statusCode()).as("no other voter: refused by a rule").isEqualTo(409);
    assertThat(send(daemon, "DELETE", "/v1/operator/raft/peer?id=nobody").statusCode()).isEqualTo(400);
    assertThat(send(daemon, "DELETE", "/v1/operator/raft/peer?id=d1").statusCode())
        .as("removing the last voter is refused").isEqualTo(409);

    String scrape = send(daemon, "GET", "/v1/agent/metrics?format=prometheus").body();
    assertThat(scrape).contains("conclave_raft_leaderships_total 1.0").contains("conclave_raft_term ")
        .contains("conclave_raft_apply_lag ");
  }

  @Test
  void proposalsAreAppliedInOrderAndAnsweredWithTheStateMachinesResult() {
    List<String> appliedCommands = new ArrayList<>();
    StateMachine echo = (index, command) -> {
      String text = new String(command, StandardCharsets.UTF_8);
      appliedCommands.add(text);
      return text + "@" + index;
    };
    RaftClusterRuntime runtime = new RaftClusterRuntime(new RaftPeers(), Optional.of(Set.of("d2")), RaftTiming.lan(), echo);
    Daemon daemon = Daemon.start(devConfig("d2"), runtime, Duration.ofSeconds(20));
    daemons.add(daemon);
    RaftRuntime raft = Futures.await(runtime.raft());

    List<io.vertx.core.Future<Object>> results = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      results.add(raft.propose(("c" + i).getBytes(StandardCharsets.UTF_8)));
    }
    List<Object> answers = new ArrayList<>();
    for (io.vertx.core.Future<Object> f : results) {
      answers.add(Futures.await(f));
    }
    // entry 1 is the bootstrap configuration, entry 2 the leader's no-op
    assertThat(answers.get(0)).isEqualTo("c0@3");
    assertThat(answers.get(49)).isEqualTo("c49@52");
    assertThat(appliedCommands).hasSize(50).startsWith("c0", "c1").endsWith("c49");

    long readIndex = Futures.await(raft.readBarrier(false));
    assertThat(readIndex).isEqualTo(52);
    assertThat(Futures.await(raft.readBarrier(true))).isEqualTo(52);
    RaftState state = Futures.await(raft.state());
    assertThat(state.appliedIndex()).isEqualTo(52);
    assertThat(state.commitIndex()).isEqualTo(52);
    assertThat(daemon.registry().get("conclave.raft.commit.latency").timer().count()).isEqualTo(50);
    assertThat(daemon.registry().get("conclave.raft.sync.readies").summary().count())
        .as("group commit: fewer syncs than proposals").isLessThan(50);
  }

  @Test
  void aStoppedRuntimeRefusesProposals() {
    RaftClusterRuntime runtime = RaftClusterRuntime.standalone(StateMachine.NONE);
    Daemon daemon = Daemon.start(devConfig("d3"), runtime, Duration.ofSeconds(20));
    daemons.add(daemon);
    RaftRuntime raft = Futures.await(runtime.raft());
    Futures.await(raft.stop());
    Throwable failure = Futures.awaitFailure(raft.propose(new byte[] {1}));
    assertThat(failure).isInstanceOf(RaftRequestException.class);
    assertThat(((RaftRequestException) failure).kind()).isEqualTo(RaftRequestException.Kind.STOPPED);
  }
}
