package io.conclave.daemon.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.consensus.raft.Role;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.testing.Futures;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three server daemons in one JVM on 127.0.0.1 (real TCP, ephemeral ports, logs in temporary data
 * dirs), told each other's Raft addresses through one shared {@link RaftPeers} (gossip is not wired
 * yet), bootstrapping the voters n1, n2, n3. Checks election, replication, failover after a leader
 * dies, catch-up after a restart from the data dir, the operator endpoints, health, and junk frames.
 */
class RaftClusterTest {
  static final Set<String> VOTERS = Set.of("n1", "n2", "n3");
  static final Duration WAIT = Duration.ofSeconds(15);
  static final ObjectMapper JSON = new ObjectMapper();

  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final RaftPeers peers = new RaftPeers();
  final Map<String, Server> servers = new LinkedHashMap<>();
  final Map<String, RaftClusterRuntime> runtimes = new LinkedHashMap<>();
  final Map<String, Daemon> waiting = new LinkedHashMap<>();

  @TempDir Path dir;

  /** One running daemon and what its state machine applied. */
  record Server(String id, Daemon daemon, RaftRuntime raft, List<String> applied) {}

  @AfterEach
  void stopAll() {
    servers.values().forEach(s -> s.daemon().stop(Daemon.STOP_PHASE_TIMEOUT));
    waiting.values().forEach(d -> d.stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  Server start(String id) {
    return start(id, Optional.of(VOTERS));
  }

  Server start(String id, Optional<Set<String>> voters, String... flags) {
    List<String> args = new ArrayList<>(List.of("--server", "--node", id, "--data-dir", dir.resolve(id).toString(),
        "--http-port", "0", "--gossip-port", "0", "--raft-port", "0"));
    args.addAll(List.of(flags));
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> id).load(args.toArray(String[]::new))).config();
    List<String> applied = new CopyOnWriteArrayList<>();
    StateMachine recorder = (index, command) -> {
      String text = new String(command, StandardCharsets.UTF_8);
      applied.add(text);
      return index;
    };
    RaftClusterRuntime runtime = new RaftClusterRuntime(peers, voters, RaftTiming.lan(), recorder);
    Daemon daemon = Daemon.start(config, runtime, Duration.ofSeconds(20));
    runtimes.put(id, runtime);
    if (runtime.awaitingBootstrap()) {
      waiting.put(id, daemon);
      return null;
    }
    Server server = new Server(id, daemon, Futures.await(runtime.raft()), applied);
    servers.put(id, server);
    return server;
  }

  void startAll() {
    VOTERS.stream().sorted().forEach(this::start);
  }

  void kill(Server s) {
    servers.remove(s.id());
    s.daemon().stop(Daemon.STOP_PHASE_TIMEOUT);
  }

  static RaftState state(Server s) {
    return Futures.await(s.raft().state());
  }

  /** The one server every running member of the group agrees is the leader. */
  Server awaitLeader() {
    Server[] found = new Server[1];
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
      // servers not yet added by a leader follow nobody: they are left out
      List<RaftState> states = servers.values().stream().map(RaftClusterTest::state)
          .filter(st -> st.configuration().contains(st.id())).toList();
      List<RaftState> leaders = states.stream().filter(RaftState::isLeader).toList();
      if (leaders.size() != 1) {
        return false;
      }
      String leader = leaders.get(0).id();
      if (!states.stream().allMatch(st -> st.leaderId().equals(leader) && st.term() == leaders.get(0).term())) {
        return false;
      }
      found[0] = servers.get(leader);
      return true;
    });
    return found[0];
  }

  HttpResponse<String> send(Server s, String method, String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.daemon().httpPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Proposes on whichever server leads, retrying only when the answer was NOT_LEADER (nothing was
   * appended then): on a loaded machine a re-election can happen between finding and asking.
   */
  Object propose(String command) {
    Object[] result = new Object[1];
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
      Server leader = awaitLeader();
      try {
        result[0] = Futures.await(leader.raft().propose(bytes(command)));
        return true;
      } catch (AssertionError e) {
        if (e.getCause() instanceof RaftRequestException r && r.kind() == RaftRequestException.Kind.NOT_LEADER) {
          return false;
        }
        throw e;
      }
    });
    return result[0];
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void electsReplicatesFailsOverAndCatchesUpAfterRestart() throws Exception {
    startAll();
    Server leader;
    long lastWrite = 0;
    for (int i = 0; i < 20; i++) {
      lastWrite = (Long) propose("a" + i);
    }
    await().atMost(WAIT).until(() -> servers.values().stream().allMatch(s -> s.applied().size() == 20));
    for (Server s : servers.values()) {
      assertThat(s.applied()).as("applied on %s", s.id()).startsWith("a0", "a1").endsWith("a19");
      assertThat(send(s, "GET", "/v1/health").statusCode()).as("health of %s", s.id()).isEqualTo(200);
    }
    leader = awaitLeader();
    Server current = leader;
    Server follower = servers.values().stream().filter(s -> s != current).findFirst().orElseThrow();
    RaftRequestException notLeader = (RaftRequestException) Futures.awaitFailure(follower.raft().propose(bytes("x")));
    assertThat(notLeader.kind()).isEqualTo(RaftRequestException.Kind.NOT_LEADER);
    assertThat(notLeader.leaderId()).isNotEqualTo(follower.id());
    long readIndex = Futures.await(follower.raft().readBarrier(false));
    assertThat(readIndex).as("a follower's read barrier covers every acknowledged write")
        .isGreaterThanOrEqualTo(lastWrite);

    // the leader dies; a new one is elected among the other two and accepts writes
    long oldTerm = state(leader).term();
    kill(leader);
    Server second = awaitLeader();
    assertThat(second.id()).isNotEqualTo(leader.id());
    assertThat(state(second).term()).isGreaterThan(oldTerm);
    for (int i = 0; i < 10; i++) {
      propose("b" + i);
    }

    // the old leader restarts from its data dir and catches up (its log replays, then the rest arrives)
    Server restarted = start(leader.id());
    await().atMost(WAIT).until(() -> restarted.applied().size() == 30);
    assertThat(restarted.applied()).startsWith("a0").endsWith("b9");
    assertThat(state(restarted).leaderId()).isEqualTo(awaitLeader().id());
    double acknowledged = servers.values().stream()
        .mapToDouble(s -> s.daemon().registry().get("conclave.raft.commit.latency").timer().count()).sum();
    assertThat(acknowledged).as("proposals acknowledged by the leaders still running").isGreaterThanOrEqualTo(10);
  }

  @Test
  void transferLeaderAndRemovePeerThroughTheHttpApi() throws Exception {
    startAll();
    Server leader = awaitLeader();
    Server target = servers.values().stream().filter(s -> s != leader).findFirst().orElseThrow();
    Server other = servers.values().stream().filter(s -> s != leader && s != target).findFirst().orElseThrow();

    JsonNode configuration = JSON.readTree(send(other, "GET", "/v1/operator/raft/configuration").body());
    assertThat(configuration.get("Servers")).hasSize(3);
    for (JsonNode server : configuration.get("Servers")) {
      assertThat(server.get("Voter").asBoolean()).isTrue();
      assertThat(server.get("Leader").asBoolean()).isEqualTo(server.get("ID").asText().equals(leader.id()));
      assertThat(server.get("Address").asText()).isEqualTo(peers.addressText(server.get("ID").asText()));
    }
    assertThat(JSON.readTree(send(other, "GET", "/v1/status/peers").body())).hasSize(3);

    HttpResponse<String> fromFollower = send(other, "POST", "/v1/operator/raft/transfer-leader?id=" + target.id());
    assertThat(fromFollower.statusCode()).as(fromFollower.body()).isEqualTo(503);
    assertThat(send(leader, "POST", "/v1/operator/raft/transfer-leader?id=nobody").statusCode()).isEqualTo(400);

    HttpResponse<String> transfer = send(leader, "POST", "/v1/operator/raft/transfer-leader?id=" + target.id());
    assertThat(transfer.statusCode()).as(transfer.body()).isEqualTo(200);
    assertThat(transfer.body()).contains("\"Success\":true");
    assertThat(awaitLeader().id()).isEqualTo(target.id());
    assertThat(JSON.readTree(send(leader, "GET", "/v1/status/leader").body()).asText())
        .isEqualTo(peers.addressText(target.id()));

    HttpResponse<String> remove = send(target, "DELETE", "/v1/operator/raft/peer?id=" + other.id());
    assertThat(remove.statusCode()).as(remove.body()).isEqualTo(200);
    await().atMost(WAIT).until(() -> state(leader).configuration().voters().equals(Set.of(leader.id(), target.id())));
    assertThat(JSON.readTree(send(target, "GET", "/v1/operator/raft/configuration").body()).get("Servers")).hasSize(2);
    kill(other); // a removed server never hears of its removal; the operator shuts it down
    propose("after-remove");
  }

  @Test
  void healthFollowsTheClusterAndJunkFramesAreDropped() throws Exception {
    startAll();
    Server leader = awaitLeader();
    Server follower = servers.values().stream().filter(s -> s != leader).findFirst().orElseThrow();

    // junk frames at a follower's Raft port: dropped and counted; the group keeps its leader
    try (Socket socket = new Socket("127.0.0.1", follower.daemon().raftPort())) {
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      byte[][] junk = {{2, 0}, {1}, {}}; // codec version 2, truncated after the version, empty
      for (byte[] payload : junk) {
        out.writeInt(payload.length + 1);
        out.writeByte(1); // frame version
        out.write(payload);
      }
      out.flush();
      await().atMost(WAIT).until(() -> follower.raft().droppedCount("malformed_bad_version") == 1
          && follower.raft().droppedCount("malformed_truncated") == 1
          && follower.raft().droppedCount("malformed_empty") == 1);
    }
    assertThat(follower.raft().droppedCount("malformed_bad_version")).isEqualTo(1);
    assertThat(state(follower).leaderId()).isEqualTo(leader.id());
    propose("still-works");

    // two of three servers die: the last one loses its leader (or steps down) and turns critical
    List<Server> others = new ArrayList<>(servers.values());
    others.remove(follower);
    others.forEach(this::kill);
    await().atMost(WAIT).until(() -> send(follower, "GET", "/v1/health").statusCode() == 503);
    JsonNode health = JSON.readTree(send(follower, "GET", "/v1/health").body());
    assertThat(health.get("status").asText()).isEqualTo("critical");
    assertThat(health.get("reason").asText()).contains("leader");
    assertThat(state(follower).role()).isNotEqualTo(Role.LEADER);
  }

  @Test
  void bootstrapExpectWaitsForGossipThenALearnerJoinsAndIsPromoted() throws Exception {
    for (String id : List.of("n1", "n2", "n3")) {
      assertThat(start(id, Optional.empty(), "--bootstrap-expect", "3")).isNull();
    }
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + waiting.get("n1").httpPort() + "/v1/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(503);
    assertThat(health.body()).contains("waiting for 3 servers to bootstrap (bootstrap-expect)");

    // what gossip will do once it has seen three servers without Raft state
    for (String id : List.of("n1", "n2", "n3")) {
      assertThat(Futures.await(runtimes.get(id).bootstrap(VOTERS))).isTrue();
      servers.put(id, new Server(id, waiting.remove(id), Futures.await(runtimes.get(id).raft()), List.of()));
    }
    assertThat(Futures.await(runtimes.get("n1").bootstrap(VOTERS))).as("never twice").isFalse();
    propose("first");

    // a fourth server starts without voters; the leader adds it as a learner, then promotes it
    Server n4 = start("n4", Optional.empty());
    assertThat(state(n4).configuration().members()).isEmpty();
    Server leader = awaitLeader();
    Futures.await(leader.raft().addLearner("n4"));
    await().atMost(WAIT).until(() -> n4.applied().contains("first"));
    assertThat(state(n4).configuration().isLearner("n4")).isTrue();
    JsonNode learner = JSON.readTree(send(n4, "GET", "/v1/operator/raft/configuration?stale").body());
    assertThat(learner.get("Servers")).hasSize(4);
    Futures.await(awaitLeader().raft().promote("n4"));
    await().atMost(WAIT).until(() -> state(n4).configuration().voters().size() == 4);
    assertThat(state(n4).configuration().isVoter("n4")).isTrue();
    propose("second");
    await().atMost(WAIT).until(() -> n4.applied().contains("second"));
  }

  @Test
  void aLeaderThatLeavesHandsLeadershipOverFirst() throws Exception {
    startAll();
    Server leader = awaitLeader();
    long term = state(leader).term();
    HttpResponse<String> leave = send(leader, "PUT", "/v1/agent/leave");
    assertThat(leave.statusCode()).as(leave.body()).isEqualTo(200);
    Futures.await(leader.daemon().leaveRequested());
    RaftState after = state(leader);
    assertThat(after.role()).as("leadership moved before the leave completed").isNotEqualTo(Role.LEADER);
    assertThat(after.leaderId()).isNotEmpty().isNotEqualTo(leader.id());
    assertThat(after.term()).isGreaterThan(term);
    kill(leader);
    propose("after-leave");
  }
}
