package io.conclave.daemon.http;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftConfiguration;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftServer;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.metrics.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The non-KV endpoints against a fake cluster view: Consul's shapes, status codes, health. */
class HttpApiTest {
  static final Instant T0 = Instant.parse("2026-11-22T00:00:00Z");
  final ObjectMapper mapper = new ObjectMapper();

  Vertx vertx;
  WebClient client;
  int port;
  final AtomicReference<Instant> now = new AtomicReference<>(T0);
  final AtomicReference<ClusterSnapshot> snapshot = new AtomicReference<>();
  final FakeControl control = new FakeControl();
  PrometheusMeterRegistry registry;

  static final Member N1 = new Member("n1", "10.0.0.1", 8521, Map.of("role", "server"), MemberState.ALIVE, 3);
  static final Member N2 = new Member("n2", "10.0.0.2", 8521, Map.of("role", "server"), MemberState.SUSPECT, 5);
  static final Member N3 = new Member("n3", "10.0.0.3", 8521, Map.of("role", "client"), MemberState.FAILED, 2);
  static final Member N4 = new Member("n4", "10.0.0.4", 8521, Map.of("role", "client"), MemberState.LEFT, 9);
  static final RaftConfiguration CONFIGURATION = new RaftConfiguration(List.of(
      new RaftServer("n1", "n1", "10.0.0.1:8522", true, true),
      new RaftServer("n2", "n2", "10.0.0.2:8522", false, true),
      new RaftServer("n5", "n5", "10.0.0.5:8522", false, false)), 22);

  static final class FakeControl implements ClusterControl {
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile Throwable failure;

    private Future<Void> answer(String call) {
      calls.add(call);
      return failure == null ? Future.succeededFuture() : Future.failedFuture(failure);
    }

    @Override
    public Future<Void> leave() {
      return answer("leave");
    }

    @Override
    public Future<Void> transferLeadership(Optional<String> targetId) {
      return answer("transfer " + targetId.orElse("*"));
    }

    @Override
    public Future<Void> removePeer(String id) {
      return answer("remove " + id);
    }
  }

  static RaftStatus leaderStatus() {
    return new RaftStatus(RaftRole.LEADER, "n1", "10.0.0.1:8522", 4, 17, Optional.empty(), "");
  }

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    registry = Metrics.newRegistry();
    registry.counter("conclave.test.events", "kind", "a").increment(3);
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> "n1").load("--dev")).config();
    snapshot.set(new ClusterSnapshot(N1, List.of(N1, N2, N3, N4), leaderStatus(), Optional.of(CONFIGURATION)));
    HttpApi api = new HttpApi(vertx, config, () -> Future.succeededFuture(snapshot.get()), control, registry,
        now::get, new HealthPolicy(Duration.ofSeconds(1), Duration.ofSeconds(5)));
    HttpServer server = await(vertx.createHttpServer().requestHandler(api.router()).listen(0, "127.0.0.1"));
    port = server.actualPort();
    client = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  HttpResponse<Buffer> call(HttpMethod method, String uri) {
    return await(client.request(method, port, "127.0.0.1", uri).send());
  }

  HttpResponse<Buffer> get(String uri) {
    return call(HttpMethod.GET, uri);
  }

  JsonNode json(HttpResponse<Buffer> response) throws Exception {
    assertThat(response.getHeader("Content-Type")).isEqualTo("application/json");
    return mapper.readTree(response.bodyAsString());
  }

  @Test
  void statusLeaderAndPeers() throws Exception {
    HttpResponse<Buffer> leader = get("/v1/status/leader");
    assertThat(leader.statusCode()).isEqualTo(200);
    assertThat(leader.bodyAsString()).isEqualTo("\"10.0.0.1:8522\"");
    assertThat(json(get("/v1/status/peers")).toString()).isEqualTo("[\"10.0.0.1:8522\",\"10.0.0.2:8522\"]");

    snapshot.set(new ClusterSnapshot(N1, List.of(N1), RaftStatus.notRunning("raft not running"), Optional.empty()));
    assertThat(get("/v1/status/leader").bodyAsString()).isEqualTo("\"\"");
    assertThat(get("/v1/status/peers").bodyAsString()).isEqualTo("[]");
  }

  @Test
  void membersInConsulShape() throws Exception {
    JsonNode members = json(get("/v1/agent/members"));
    assertThat(members).hasSize(4);
    JsonNode first = members.get(0);
    List<String> fields = new ArrayList<>();
    first.fieldNames().forEachRemaining(fields::add);
    assertThat(fields).containsExactly("Name", "Addr", "Port", "Tags", "Status", "State", "Incarnation",
        "ProtocolMin", "ProtocolMax", "ProtocolCur", "DelegateMin", "DelegateMax", "DelegateCur");
    assertThat(first.get("Name").asText()).isEqualTo("n1");
    assertThat(first.get("Addr").asText()).isEqualTo("10.0.0.1");
    assertThat(first.get("Port").asInt()).isEqualTo(8521);
    assertThat(first.get("Tags").get("role").asText()).isEqualTo("server");
    assertThat(first.get("Incarnation").asLong()).isEqualTo(3);
    // Consul's Status: a suspect shows 1 (alive); left is 3, failed 4
    assertThat(members.findValues("Status")).extracting(JsonNode::asInt).containsExactly(1, 1, 4, 3);
    assertThat(members.findValues("State")).extracting(JsonNode::asText)
        .containsExactly("alive", "suspect", "failed", "left");
  }

  @Test
  void agentSelfShowsConfigAndMemberButNeverTheKey() throws Exception {
    JsonNode self = json(get("/v1/agent/self"));
    assertThat(self.get("Config").get("NodeName").asText()).isEqualTo("n1");
    assertThat(self.get("Config").get("Server").asBoolean()).isTrue();
    assertThat(self.get("Member").get("Name").asText()).isEqualTo("n1");
    assertThat(self.get("DebugConfig").get("dev").asBoolean()).isTrue();
    assertThat(self.get("DebugConfig").get("encrypt").isBoolean()).isTrue();
  }

  @Test
  void raftConfigurationNeedsALeaderUnlessStale() throws Exception {
    JsonNode body = json(get("/v1/operator/raft/configuration"));
    assertThat(body.get("Index").asLong()).isEqualTo(22);
    assertThat(body.get("Servers")).hasSize(3);
    JsonNode first = body.get("Servers").get(0);
    List<String> fields = new ArrayList<>();
    first.fieldNames().forEachRemaining(fields::add);
    assertThat(fields).containsExactly("ID", "Node", "Address", "Leader", "Voter");
    assertThat(body.get("Servers").get(2).get("Voter").asBoolean()).isFalse();

    RaftStatus candidate = new RaftStatus(RaftRole.CANDIDATE, "", "", 5, 17, Optional.empty(), "");
    snapshot.set(new ClusterSnapshot(N1, List.of(N1), candidate, Optional.of(CONFIGURATION)));
    HttpResponse<Buffer> noLeader = get("/v1/operator/raft/configuration");
    assertThat(noLeader.statusCode()).isEqualTo(500);
    assertThat(noLeader.getHeader("Content-Type")).startsWith("text/plain");
    assertThat(noLeader.bodyAsString()).isEqualTo("No cluster leader");
    assertThat(get("/v1/operator/raft/configuration?stale").statusCode()).isEqualTo(200);
  }

  @Test
  void healthFollowsTheClusterAndTheClock() throws Exception {
    HttpResponse<Buffer> passing = get("/v1/health");
    assertThat(passing.statusCode()).as("leader, a suspect member → warning").isEqualTo(429);
    assertThat(json(passing).get("status").asText()).isEqualTo("warning");

    RaftStatus follower = new RaftStatus(RaftRole.FOLLOWER, "n2", "10.0.0.2:8522", 4, 17, Optional.of(T0), "");
    snapshot.set(new ClusterSnapshot(N1, List.of(N1, N3), follower, Optional.of(CONFIGURATION)));
    HttpResponse<Buffer> ok = get("/v1/health");
    assertThat(ok.statusCode()).isEqualTo(200);
    JsonNode body = json(ok);
    assertThat(body.get("status").asText()).isEqualTo("passing");
    assertThat(body.get("role").asText()).isEqualTo("follower");
    assertThat(body.get("leader").asText()).isEqualTo("10.0.0.2:8522");
    assertThat(body.get("term").asLong()).isEqualTo(4);
    assertThat(body.get("commit_index").asLong()).isEqualTo(17);
    assertThat(body.get("last_contact_ms").asLong()).isZero();
    assertThat(body.get("members").get("failed").asLong()).isEqualTo(1);

    now.set(T0.plusMillis(2_500));
    HttpResponse<Buffer> aging = get("/v1/health");
    assertThat(aging.statusCode()).isEqualTo(429);
    assertThat(json(aging).get("reason").asText()).isEqualTo("leader last heard from 2500 ms ago");

    now.set(T0.plusSeconds(6));
    HttpResponse<Buffer> lost = get("/v1/health");
    assertThat(lost.statusCode()).isEqualTo(503);
    assertThat(json(lost).get("status").asText()).isEqualTo("critical");

    snapshot.set(new ClusterSnapshot(N1, List.of(N1), RaftStatus.notRunning("raft not running"), Optional.empty()));
    HttpResponse<Buffer> notRunning = get("/v1/health");
    assertThat(notRunning.statusCode()).isEqualTo(503);
    assertThat(json(notRunning).get("reason").asText()).isEqualTo("raft not running");
  }

  @Test
  void leaveTransferAndRemoveGoToTheControl() throws Exception {
    HttpResponse<Buffer> leave = call(HttpMethod.PUT, "/v1/agent/leave");
    assertThat(leave.statusCode()).isEqualTo(200);
    HttpResponse<Buffer> transfer = call(HttpMethod.POST, "/v1/operator/raft/transfer-leader?id=n2");
    assertThat(transfer.statusCode()).isEqualTo(200);
    assertThat(json(transfer).get("Success").asBoolean()).isTrue();
    assertThat(call(HttpMethod.POST, "/v1/operator/raft/transfer-leader").statusCode()).isEqualTo(200);
    assertThat(call(HttpMethod.DELETE, "/v1/operator/raft/peer?id=n5").statusCode()).isEqualTo(200);
    assertThat(call(HttpMethod.DELETE, "/v1/operator/raft/peer?address=10.0.0.2:8522").statusCode()).isEqualTo(200);
    assertThat(control.calls).containsExactly("leave", "transfer n2", "transfer *", "remove n5", "remove n2");
  }

  @Test
  void badRequestsAndControlFailuresArePlainText() {
    HttpResponse<Buffer> noId = call(HttpMethod.DELETE, "/v1/operator/raft/peer");
    assertThat(noId.statusCode()).isEqualTo(400);
    assertThat(noId.getHeader("Content-Type")).startsWith("text/plain");
    assertThat(call(HttpMethod.DELETE, "/v1/operator/raft/peer?address=9.9.9.9:1").statusCode()).isEqualTo(400);

    Map<ClusterControlException.Kind, Integer> expected = Map.of(
        ClusterControlException.Kind.NO_LEADER, 500, ClusterControlException.Kind.UNKNOWN_PEER, 400,
        ClusterControlException.Kind.REJECTED, 409, ClusterControlException.Kind.UNAVAILABLE, 503,
        ClusterControlException.Kind.TIMEOUT, 504);
    expected.forEach((kind, status) -> {
      control.failure = new ClusterControlException(kind, "because " + kind);
      HttpResponse<Buffer> response = call(HttpMethod.DELETE, "/v1/operator/raft/peer?id=n2");
      assertThat(response.statusCode()).as(kind.name()).isEqualTo(status);
      assertThat(response.bodyAsString()).isEqualTo(
          kind == ClusterControlException.Kind.NO_LEADER ? "No cluster leader" : "because " + kind);
    });
    control.failure = new IllegalStateException("bug");
    HttpResponse<Buffer> bug = call(HttpMethod.POST, "/v1/operator/raft/transfer-leader");
    assertThat(bug.statusCode()).isEqualTo(500);
    assertThat(bug.bodyAsString()).doesNotContain("at io.");
  }

  @Test
  void unknownPathsMethodsAndBigBodies() {
    HttpResponse<Buffer> missing = get("/v1/nope");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.getHeader("Content-Type")).startsWith("text/plain");
    assertThat(call(HttpMethod.DELETE, "/v1/status/leader").statusCode()).isEqualTo(405);

    Buffer big = Buffer.buffer(new byte[(int) HttpApi.CONTROL_BODY_BYTES_MAX + 1]);
    HttpResponse<Buffer> tooBig = await(client.request(HttpMethod.PUT, port, "127.0.0.1", "/v1/agent/leave").sendBuffer(big));
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(control.calls).as("no leave on a refused request").isEmpty();
  }

  @Test
  void metricsInPrometheusAndConsulJson() throws Exception {
    HttpResponse<Buffer> prometheus = get("/v1/agent/metrics?format=prometheus");
    assertThat(prometheus.statusCode()).isEqualTo(200);
    assertThat(prometheus.getHeader("Content-Type")).isEqualTo(Metrics.PROMETHEUS_CONTENT_TYPE);
    assertThat(prometheus.bodyAsString()).contains("conclave_test_events_total{kind=\"a\"} 3.0");

    JsonNode json = json(get("/v1/agent/metrics"));
    assertThat(json.has("Timestamp")).isTrue();
    assertThat(json.get("Counters").findValuesAsText("Name")).contains("conclave.test.events");
  }
}
