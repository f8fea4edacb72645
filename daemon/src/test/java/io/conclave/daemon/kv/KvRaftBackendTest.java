package io.conclave.daemon.kv;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.raft.RaftClusterRuntime;
import io.conclave.daemon.raft.RaftRequestException;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.runtime.Daemon;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The KV API over the real Raft runtime of a {@code --dev} server: writes through the log, reads behind a barrier. */
class KvRaftBackendTest {
  final ObjectMapper mapper = new ObjectMapper();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final Vertx vertx = Vertx.vertx();
  Daemon daemon;
  RaftKvBackend backend;
  int port;

  @AfterEach
  void stop() {
    if (backend != null) {
      backend.close();
    }
    if (daemon != null) {
      daemon.stop(Daemon.STOP_PHASE_TIMEOUT);
    }
    await(vertx.close());
  }

  HttpResponse<String> send(String method, String path, String body) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(10)).build();
    return http.send(r, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void kvThroughRaft() throws Exception {
    KvStateMachine store = new KvStateMachine();
    RaftClusterRuntime runtime = RaftClusterRuntime.standalone(RaftKvBackend.stateMachine(store));
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> "k1").load("--dev", "--node", "k1",
        "--http-port", "0", "--gossip-port", "0", "--raft-port", "0")).config();
    daemon = Daemon.start(config, runtime, Duration.ofSeconds(20));
    RaftRuntime raft = await(runtime.raft());
    backend = new RaftKvBackend(vertx, raft, store);
    Router router = Router.router(vertx);
    KvHttp kv = new KvHttp(vertx, backend, "k1-test", new SplittableRandom(1), 100);
    kv.mount(router);
    port = await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")).actualPort();

    HttpResponse<String> put = send("PUT", "/v1/kv/a%2Fb?flags=9", "v1");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    assertThat(put.body()).isEqualTo("true");
    long applied = Long.parseLong(put.headers().firstValue("X-Consul-Index").orElseThrow());
    assertThat(applied).as("the Raft index: after the bootstrap configuration and the leader's no-op").isGreaterThan(2);

    for (String mode : new String[] {"", "?consistent=", "?stale"}) {
      HttpResponse<String> get = send("GET", "/v1/kv/a/b" + mode, null);
      assertThat(get.statusCode()).as(mode).isEqualTo(200);
      JsonNode e = mapper.readTree(get.body()).get(0);
      assertThat(e.get("ModifyIndex").asLong()).isEqualTo(applied);
      assertThat(e.get("Flags").asLong()).isEqualTo(9);
      assertThat(get.headers().firstValue("X-Consul-KnownLeader")).contains("true");
      assertThat(get.headers().firstValue("X-Consul-LastContact")).contains("0");
    }
    assertThat(send("PUT", "/v1/kv/a/b?cas=0", "v2").body()).isEqualTo("false");
    assertThat(send("PUT", "/v1/kv/a/b?cas=" + applied, "v2").body()).isEqualTo("true");

    CompletableFuture<HttpResponse<String>> blocked = http.sendAsync(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/v1/kv/a/?recurse&index=" + (applied + 2) + "&wait=20s")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> kv.blockingQueriesOpen() == 1);
    assertThat(send("DELETE", "/v1/kv/a/b", null).body()).isEqualTo("true");
    HttpResponse<String> woken = blocked.get(10, TimeUnit.SECONDS);
    assertThat(woken.statusCode()).as("the prefix is empty now").isEqualTo(404);
    assertThat(Long.parseLong(woken.headers().firstValue("X-Consul-Index").orElseThrow())).isGreaterThan(applied + 2);

    String txn = "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"t\",\"Value\":\"eA==\"}},{\"KV\":{\"Verb\":\"check-not-exists\",\"Key\":\"t\"}}]";
    assertThat(send("PUT", "/v1/txn", txn).statusCode()).as("rolled back through the log").isEqualTo(409);
    assertThat(send("GET", "/v1/kv/t", null).statusCode()).isEqualTo(404);
    assertThat(store.lastApplied()).isEqualTo(await(raft.state()).appliedIndex());
  }

  @Test
  void raftFailuresTranslateToTheHttpKinds() {
    assertThat(((ClusterControlException) RaftKvBackend.translate(new RaftRequestException(RaftRequestException.Kind.NOT_LEADER, "x"))).kind())
        .isEqualTo(ClusterControlException.Kind.NO_LEADER);
    assertThat(((ClusterControlException) RaftKvBackend.translate(
        new RaftRequestException(RaftRequestException.Kind.NOT_LEADER, "x", "n2", "10.0.0.2:8522"))).getMessage()).contains("n2");
    assertThat(((ClusterControlException) RaftKvBackend.translate(new RaftRequestException(RaftRequestException.Kind.TIMEOUT, "x"))).kind())
        .isEqualTo(ClusterControlException.Kind.TIMEOUT);
    assertThat(((ClusterControlException) RaftKvBackend.translate(new RaftRequestException(RaftRequestException.Kind.LOST, "x"))).kind())
        .isEqualTo(ClusterControlException.Kind.UNAVAILABLE);
    IllegalStateException other = new IllegalStateException("bug");
    assertThat(RaftKvBackend.translate(other)).isSameAs(other);
  }
}
