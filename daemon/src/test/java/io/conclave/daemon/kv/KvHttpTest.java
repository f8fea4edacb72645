package io.conclave.daemon.kv;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.http.HealthPolicy;
import io.conclave.daemon.http.HttpApi;
import io.conclave.daemon.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The KV endpoints mounted on the daemon's router over the in-memory backend: Consul's paths, params, shapes, codes, headers. */
class KvHttpTest {
  final ObjectMapper mapper = new ObjectMapper();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  Vertx vertx;
  KvStateMachine store;
  KvHttp kv;
  io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry;
  int port;
  /** Wraps the in-memory backend, e.g. to re-propose every write (a retry after a leader change). */
  Function<KvBackend, KvBackend> wrap = Function.identity();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  void serve() {
    store = new KvStateMachine();
    KvBackend backend = wrap.apply(new LocalKvBackend(store));
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> "n1").load("--dev")).config();
    Member self = new Member("n1", "127.0.0.1", 8521, Map.of("role", "server"), MemberState.ALIVE, 1);
    ClusterSnapshot snapshot = new ClusterSnapshot(self, List.of(self), RaftStatus.notRunning("test"), Optional.empty());
    ClusterControl control = new ClusterControl() {
      @Override
      public Future<Void> leave() {
        return Future.succeededFuture();
      }

      @Override
      public Future<Void> transferLeadership(Optional<String> targetId) {
        return Future.succeededFuture();
      }

      @Override
      public Future<Void> removePeer(String id) {
        return Future.succeededFuture();
      }
    };
    registry = Metrics.newRegistry();
    HttpApi api = new HttpApi(vertx, config, () -> Future.succeededFuture(snapshot), control, registry,
        Instant::now, new HealthPolicy(Duration.ofSeconds(1), Duration.ofSeconds(5)));
    kv = new KvHttp(vertx, backend, "n1-test", new SplittableRandom(1), 4);
    kv.bindMetrics(registry).mount(api.router());
    HttpServer server = await(vertx.createHttpServer().requestHandler(api.router()).listen(0, "127.0.0.1"));
    port = server.actualPort();
  }

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  HttpRequest.Builder req(String pathAndQuery) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery)).timeout(Duration.ofSeconds(20));
  }

  HttpResponse<byte[]> send(HttpRequest r) {
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofByteArray());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  HttpResponse<byte[]> get(String path) {
    return send(req(path).GET().build());
  }

  HttpResponse<byte[]> put(String path, byte[] body) {
    return send(req(path).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }

  HttpResponse<byte[]> put(String path, String body) {
    return put(path, body.getBytes(StandardCharsets.UTF_8));
  }

  HttpResponse<byte[]> delete(String path) {
    return send(req(path).DELETE().build());
  }

  static String body(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  JsonNode json(HttpResponse<byte[]> r) throws Exception {
    assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
    return mapper.readTree(r.body());
  }

  static long index(HttpResponse<byte[]> r) {
    return Long.parseLong(r.headers().firstValue("X-Consul-Index").orElseThrow());
  }

  static void assertMeta(HttpResponse<byte[]> r) {
    assertThat(index(r)).isPositive();
    assertThat(r.headers().firstValue("X-Consul-KnownLeader")).contains("true");
    assertThat(r.headers().firstValue("X-Consul-LastContact")).contains("0");
  }

  @Test
  void putThenGetInConsulShapeWithPercentDecodedKey() throws Exception {
    serve();
    HttpResponse<byte[]> put = put("/v1/kv/web%2Fconfig?flags=42", "hello");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(body(put)).isEqualTo("true");
    assertMeta(put);

    for (String path : List.of("/v1/kv/web/config", "/v1/kv/web%2Fconfig", "/v1/kv/web%2fconfig")) {
      HttpResponse<byte[]> got = get(path);
      assertThat(got.statusCode()).as(path).isEqualTo(200);
      assertMeta(got);
      JsonNode array = json(got);
      assertThat(array.isArray()).isTrue();
      assertThat(array).hasSize(1);
      JsonNode e = array.get(0);
      List<String> fields = new ArrayList<>();
      e.fieldNames().forEachRemaining(fields::add);
      assertThat(fields).containsExactly("LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex");
      assertThat(e.get("Key").asText()).isEqualTo("web/config");
      assertThat(e.get("Flags").asLong()).isEqualTo(42);
      assertThat(new String(Base64.getDecoder().decode(e.get("Value").asText()), StandardCharsets.UTF_8)).isEqualTo("hello");
      assertThat(e.get("CreateIndex").asLong()).isEqualTo(1);
      assertThat(index(got)).as("a single get answers the entry's ModifyIndex").isEqualTo(e.get("ModifyIndex").asLong());
    }

    put("/v1/kv/other", "x");
    put("/v1/kv/empty", "");
    assertThat(json(get("/v1/kv/empty")).get(0).get("Value").isNull()).as("an empty value is null").isTrue();
    assertThat(index(get("/v1/kv/web/config"))).isEqualTo(1);
    put("/v1/kv/big?flags=18446744073709551615", "v");
    assertThat(json(get("/v1/kv/big")).get(0).get("Flags").asText()).as("uint64 flags").isEqualTo("18446744073709551615");
    put("/v1/kv/sp%20a%2Bb", "v");
    assertThat(json(get("/v1/kv/sp%20a%2Bb")).get(0).get("Key").asText()).isEqualTo("sp a+b");
  }

  @Test
  void rawValueAndMissingKey() {
    serve();
    byte[] bytes = {0, 1, 2, (byte) 0xff};
    put("/v1/kv/bin", bytes);
    HttpResponse<byte[]> raw = get("/v1/kv/bin?raw");
    assertThat(raw.statusCode()).isEqualTo(200);
    assertThat(raw.body()).isEqualTo(bytes);
    assertThat(raw.headers().firstValue("Content-Type")).contains("text/plain");
    assertThat(raw.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
    assertThat(raw.headers().firstValue("Content-Security-Policy")).contains("sandbox");
    assertMeta(raw);

    HttpResponse<byte[]> missing = get("/v1/kv/nope");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).isEmpty();
    assertMeta(missing);
    assertThat(index(missing)).as("absent: the store's index").isEqualTo(1);
    assertThat(get("/v1/kv/nope?raw").statusCode()).isEqualTo(404);
  }

  @Test
  void aBodyDeclaredAsAFormIsStoredRawWhateverItsSize() {
    serve();
    // what curl -X PUT --data-binary @file sends (Consul's examples): a form type on raw bytes
    byte[] small = "a=1&b=2".getBytes(StandardCharsets.UTF_8);
    byte[] large = ("x=" + "y&z=".repeat(10_000)).getBytes(StandardCharsets.UTF_8); // 40 KB, past the form field limit
    for (byte[] value : List.of(small, large)) {
      HttpResponse<byte[]> put = send(req("/v1/kv/form").header("Content-Type", "application/x-www-form-urlencoded")
          .PUT(HttpRequest.BodyPublishers.ofByteArray(value)).build());
      assertThat(put.statusCode()).as(body(put)).isEqualTo(200);
      assertThat(get("/v1/kv/form?raw").body()).isEqualTo(value);
    }
    HttpResponse<byte[]> multipart = send(req("/v1/kv/form").header("Content-Type", "multipart/form-data; boundary=b")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(small)).build());
    assertThat(multipart.statusCode()).as(body(multipart)).isEqualTo(200);
    assertThat(get("/v1/kv/form?raw").body()).isEqualTo(small);
  }

  @Test
  void recurseAndKeysWithSeparator() throws Exception {
    serve();
    for (String k : List.of("web/bar", "web/foo", "web/subdir/x", "web/subdir/y", "zed")) {
      put("/v1/kv/" + k, k);
    }
    JsonNode all = json(get("/v1/kv/web/?recurse"));
    assertThat(all.findValuesAsText("Key")).containsExactly("web/bar", "web/foo", "web/subdir/x", "web/subdir/y");
    assertThat(json(get("/v1/kv/web?recurse=")).size()).as("kiwi's bare recurse=").isEqualTo(4);
    assertThat(json(get("/v1/kv/?recurse")).size()).isEqualTo(5);
    assertThat(index(get("/v1/kv/web/?recurse"))).isEqualTo(4);

    HttpResponse<byte[]> keys = get("/v1/kv/web/?keys&separator=/");
    assertThat(json(keys).toString()).isEqualTo("[\"web/bar\",\"web/foo\",\"web/subdir/\"]");
    assertMeta(keys);
    assertThat(json(get("/v1/kv/web/?keys&seperator=/")).size()).as("Consul's old spelling").isEqualTo(3);
    assertThat(json(get("/v1/kv/?keys")).size()).isEqualTo(5);
    assertThat(json(get("/v1/kv/?keys&separator=/")).toString()).isEqualTo("[\"web/\",\"zed\"]");

    assertThat(get("/v1/kv/nothing/?keys").statusCode()).isEqualTo(404);
    assertThat(get("/v1/kv/nothing/?recurse").statusCode()).isEqualTo(404);
    delete("/v1/kv/?recurse");
    HttpResponse<byte[]> rootKeys = get("/v1/kv/?keys");
    assertThat(rootKeys.statusCode()).as("the root listing is [] not 404").isEqualTo(200);
    assertThat(body(rootKeys)).isEqualTo("[]");
  }

  @Test
  void casAndDeleteRules() throws Exception {
    serve();
    assertThat(body(put("/v1/kv/k?cas=0", "a"))).isEqualTo("true");
    assertThat(body(put("/v1/kv/k?cas=0", "b"))).isEqualTo("false");
    long mi = json(get("/v1/kv/k")).get(0).get("ModifyIndex").asLong();
    assertThat(body(put("/v1/kv/k?cas=" + (mi + 5), "c"))).isEqualTo("false");
    HttpResponse<byte[]> ok = put("/v1/kv/k?cas=" + mi, "d");
    assertThat(body(ok)).isEqualTo("true");
    long mi2 = json(get("/v1/kv/k")).get(0).get("ModifyIndex").asLong();
    assertThat(mi2).isGreaterThan(mi);
    assertThat(index(ok)).as("a write answers the index it was applied at").isEqualTo(mi2);

    assertThat(body(delete("/v1/kv/k?cas=" + mi))).isEqualTo("false");
    assertThat(get("/v1/kv/k").statusCode()).isEqualTo(200);
    assertThat(body(delete("/v1/kv/k?cas=" + mi2))).isEqualTo("true");
    assertThat(get("/v1/kv/k").statusCode()).isEqualTo(404);
    HttpResponse<byte[]> missing = delete("/v1/kv/k");
    assertThat(missing.statusCode()).isEqualTo(200);
    assertThat(body(missing)).isEqualTo("true");

    put("/v1/kv/t/1", "1");
    put("/v1/kv/t/2", "2");
    put("/v1/kv/u", "3");
    assertThat(body(delete("/v1/kv/t?recurse"))).isEqualTo("true");
    assertThat(json(get("/v1/kv/?keys")).toString()).isEqualTo("[\"u\"]");
  }

  @Test
  void badParametersGet400WithAMessage() {
    serve();
    Map<HttpResponse<byte[]>, String> cases = new java.util.LinkedHashMap<>();
    cases.put(put("/v1/kv/", "x"), "Missing key name");
    cases.put(put("/v1/kv", "x"), "Missing key name");
    cases.put(get("/v1/kv/"), "Missing key name");
    cases.put(delete("/v1/kv/"), "Missing key name");
    cases.put(put("/v1/kv/%2Fabs", "x"), "must not start with '/'");
    cases.put(put("/v1/kv/" + "k".repeat(513), "x"), "Key too long (513 > 512 bytes)");
    cases.put(delete("/v1/kv/a?recurse&cas=3"), "Conflicting flags");
    cases.put(put("/v1/kv/a?cas=abc", "x"), "Invalid cas index");
    cases.put(put("/v1/kv/a?flags=-1", "x"), "Invalid flags");
    cases.put(put("/v1/kv/a?acquire=s1", "x"), "not supported");
    cases.put(put("/v1/kv/a?acquire=s1&cas=1", "x"), "Conflicting flags");
    cases.put(get("/v1/kv/a?index=1&wait=soon"), "Invalid wait time");
    cases.put(get("/v1/kv/a?wait=10"), "Invalid wait time");
    cases.put(get("/v1/kv/a?index=x"), "Invalid index");
    cases.put(get("/v1/kv/a?stale&consistent"), "Cannot specify ?stale with ?consistent");
    cases.put(get("/v1/kv/a%C3%28"), "Invalid key");
    cases.forEach((r, message) -> {
      assertThat(r.statusCode()).as(message).isEqualTo(400);
      assertThat(body(r)).as(message).contains(message);
    });
    // a malformed escape is refused before any route matches, with a message (and no stack trace logged)
    assertThat(rawGet("/v1/kv/a%zz")).startsWith("HTTP/1.1 400").contains("Invalid URL escape in path");
    assertThat(put("/v1/kv/" + "k".repeat(512), "x").statusCode()).isEqualTo(200);
    assertThat(store.size()).as("nothing half-written").isEqualTo(1);
  }

  @Test
  void valueOver512KiBGets413AndExactly512KiBIsAccepted() {
    serve();
    HttpResponse<byte[]> big = put("/v1/kv/big", new byte[512 * 1024 + 1]);
    assertThat(big.statusCode()).isEqualTo(413);
    assertThat(body(big)).isEqualTo("Request body(524289 bytes) too large, max size: 524288 bytes");
    assertThat(store.size()).isZero();
    assertThat(put("/v1/kv/big", new byte[512 * 1024]).statusCode()).isEqualTo(200);
    assertThat(get("/v1/kv/big?raw").body()).hasSize(512 * 1024);
    assertThat(put("/v1/agent/leave", new byte[100 * 1024]).statusCode()).as("the control limit is untouched").isEqualTo(413);
  }

  @Test
  void consistencyModesArePresenceOnlyAndReported() {
    serve();
    put("/v1/kv/a", "1");
    assertThat(get("/v1/kv/a?stale").headers().firstValue("X-Consul-Effective-Consistency")).contains("stale");
    assertThat(get("/v1/kv/a?stale=").headers().firstValue("X-Consul-Effective-Consistency")).contains("stale");
    assertThat(get("/v1/kv/a?consistent=").headers().firstValue("X-Consul-Effective-Consistency")).contains("consistent");
    assertThat(get("/v1/kv/a?consistent").headers().firstValue("X-Consul-Effective-Consistency")).contains("consistent");
    assertThat(get("/v1/kv/a").headers().firstValue("X-Consul-Effective-Consistency")).contains("leader");
  }

  @Test
  void txnAppliesAllOrNothingInConsulShapes() throws Exception {
    serve();
    put("/v1/kv/c", "old");
    String v = Base64.getEncoder().encodeToString("new".getBytes(StandardCharsets.UTF_8));
    HttpResponse<byte[]> ok = put("/v1/txn", "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"a\",\"Value\":\"" + v + "\",\"Flags\":3}},"
        + "{\"KV\":{\"Verb\":\"cas\",\"Key\":\"c\",\"Value\":\"" + v + "\",\"Index\":1}},"
        + "{\"KV\":{\"Verb\":\"get\",\"Key\":\"a\"}},"
        + "{\"KV\":{\"Verb\":\"delete\",\"Key\":\"zz\"}}]");
    assertThat(ok.statusCode()).isEqualTo(200);
    JsonNode body = json(ok);
    assertThat(body.get("Errors").isNull()).isTrue();
    assertThat(body.get("Results")).hasSize(3);
    assertThat(body.get("Results").get(0).get("KV").get("Value").isNull()).as("write results carry no value").isTrue();
    assertThat(body.get("Results").get(0).get("KV").get("Flags").asLong()).isEqualTo(3);
    assertThat(body.get("Results").get(2).get("KV").get("Value").asText()).isEqualTo(v);
    assertThat(index(ok)).isEqualTo(2);

    HttpResponse<byte[]> rolledBack = put("/v1/txn", "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"x\",\"Value\":\"" + v + "\"}},"
        + "{\"KV\":{\"Verb\":\"cas\",\"Key\":\"c\",\"Value\":\"" + v + "\",\"Index\":1}}]");
    assertThat(rolledBack.statusCode()).isEqualTo(409);
    JsonNode errors = json(rolledBack).get("Errors");
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).get("OpIndex").asInt()).isEqualTo(1);
    assertThat(errors.get(0).get("What").asText()).isEqualTo("failed to set key \"c\", index is stale");
    assertThat(get("/v1/kv/x").statusCode()).isEqualTo(404);

    HttpResponse<byte[]> read = put("/v1/txn?stale", "[{\"kv\":{\"verb\":\"GET\",\"key\":\"c\"}}]");
    assertThat(read.statusCode()).isEqualTo(200);
    assertThat(json(read).get("Results").get(0).get("KV").get("ModifyIndex").asLong()).isEqualTo(2);
    assertThat(read.headers().firstValue("X-Consul-Effective-Consistency")).contains("stale");
    assertThat(store.lastApplied()).as("a read-only txn is not logged").isEqualTo(3);
  }

  @Test
  void txnErrors() {
    serve();
    StringBuilder many = new StringBuilder("[");
    for (int i = 0; i < 65; i++) {
      many.append(i == 0 ? "" : ",").append("{\"KV\":{\"Verb\":\"get\",\"Key\":\"k\"}}");
    }
    HttpResponse<byte[]> tooMany = put("/v1/txn", many.append("]").toString());
    assertThat(tooMany.statusCode()).isEqualTo(413);
    assertThat(body(tooMany)).isEqualTo("Transaction contains too many operations (65 > 64)");
    assertThat(put("/v1/txn", "{not json").statusCode()).isEqualTo(400);
    assertThat(put("/v1/txn", "{}").statusCode()).isEqualTo(400);
    assertThat(put("/v1/txn", "[]").statusCode()).isEqualTo(400);
    HttpResponse<byte[]> node = put("/v1/txn", "[{\"Node\":{\"Verb\":\"get\"}}]");
    assertThat(node.statusCode()).isEqualTo(400);
    assertThat(body(node)).contains("only KV operations");
    assertThat(body(put("/v1/txn", "[{\"KV\":{\"Verb\":\"lock\",\"Key\":\"k\"}}]"))).contains("not supported");
    assertThat(body(put("/v1/txn", "[{\"KV\":{\"Verb\":\"frob\",\"Key\":\"k\"}}]"))).contains("unknown KV verb \"frob\"");
    assertThat(body(put("/v1/txn", "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"k\",\"Value\":\"!!\"}}]"))).contains("base64");
    assertThat(body(put("/v1/txn", "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"\"}}]"))).contains("missing key name");
    assertThat(put("/v1/txn", "[{\"KV\":{\"Verb\":\"cas\",\"Key\":\"k\",\"Index\":-1}}]").statusCode()).isEqualTo(400);
    assertThat(store.lastApplied()).isZero();
  }

  @Test
  void blockingQueryIsWokenByAWrite() throws Exception {
    serve();
    put("/v1/kv/w", "1");
    long idx = index(get("/v1/kv/w"));
    CompletableFuture<HttpResponse<byte[]>> key = http.sendAsync(req("/v1/kv/w?index=" + idx + "&wait=20s").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    CompletableFuture<HttpResponse<byte[]>> tree = http.sendAsync(req("/v1/kv/?recurse&index=" + idx + "&wait=20s").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> blockingOpen() == 2);
    assertThat(key).isNotDone();
    put("/v1/kv/w", "2");
    HttpResponse<byte[]> woken = key.get(10, TimeUnit.SECONDS);
    assertThat(woken.statusCode()).isEqualTo(200);
    assertThat(index(woken)).isEqualTo(idx + 1);
    assertThat(json(woken).get(0).get("Value").asText()).isEqualTo(Base64.getEncoder().encodeToString("2".getBytes(StandardCharsets.UTF_8)));
    assertThat(index(tree.get(10, TimeUnit.SECONDS))).isEqualTo(idx + 1);

    // a delete advances a prefix query through its tombstone
    CompletableFuture<HttpResponse<byte[]>> prefix = http.sendAsync(req("/v1/kv/?keys&index=" + (idx + 1) + "&wait=20s").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> blockingOpen() == 1);
    delete("/v1/kv/w");
    HttpResponse<byte[]> afterDelete = prefix.get(10, TimeUnit.SECONDS);
    assertThat(index(afterDelete)).isEqualTo(idx + 2);
    assertThat(body(afterDelete)).isEqualTo("[]");
  }

  @Test
  void blockingQueryTimesOutWithTheSameIndex() {
    serve();
    put("/v1/kv/w", "1");
    put("/v1/kv/unrelated", "1");
    long idx = index(get("/v1/kv/w"));
    long start = System.nanoTime();
    CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(req("/v1/kv/w?index=" + idx + "&wait=400ms").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> blockingOpen() == 1 || pending.isDone());
    put("/v1/kv/unrelated", "2"); // another key: no wake
    HttpResponse<byte[]> r = pending.join();
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(index(r)).isEqualTo(idx);
    assertThat(elapsedMs).isBetween(390L, 5_000L);
    assertThat(get("/v1/kv/w?index=0&wait=10s").statusCode()).as("index 0 never blocks").isEqualTo(200);
  }

  @Test
  void blockingQueriesBeyondTheCapGet429() {
    serve();
    put("/v1/kv/w", "1");
    List<CompletableFuture<HttpResponse<byte[]>>> open = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      open.add(http.sendAsync(req("/v1/kv/w?index=1&wait=20s").GET().build(), HttpResponse.BodyHandlers.ofByteArray()));
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> blockingOpen() == 4);
    HttpResponse<byte[]> refused = get("/v1/kv/w?index=1&wait=20s");
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(body(refused)).contains("Too many blocking queries");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(new String(get("/v1/agent/metrics?format=prometheus").body(), StandardCharsets.UTF_8))
            .contains("conclave_kv_blocking_queries 4.0")
            .contains("conclave_kv_store_bytes_max 3.3554432E7")
            .containsPattern("conclave_kv_store_bytes [1-9]")
            .contains("conclave_kv_requests_seconds_count{endpoint=\"kv\",method=\"PUT\",status=\"200\"} 1")
            .contains("conclave_kv_requests_seconds_count{endpoint=\"kv\",method=\"GET\",status=\"429\"} 1"));
    put("/v1/kv/w", "2");
    for (CompletableFuture<HttpResponse<byte[]>> f : open) {
      assertThat(f.join().statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aClientHangingUpFreesItsBlockingSlot() throws Exception {
    serve();
    put("/v1/kv/w", "1");
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.getOutputStream().write("GET /v1/kv/w?index=1&wait=5m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> blockingOpen() == 1);
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> blockingOpen() == 0);
    assertThat(get("/v1/kv/w").statusCode()).isEqualTo(200);
  }

  /** Re-proposes every write once more, as a runtime would after a leader change, and answers the second result. */
  static class RetryingBackend implements KvBackend {
    final KvBackend inner;

    RetryingBackend(KvBackend inner) {
      this.inner = inner;
    }

    @Override
    public Future<KvResult> write(byte[] command) {
      return inner.write(command).compose(first -> inner.write(command));
    }

    @Override
    public Future<Void> readBarrier(Consistency c) {
      return inner.readBarrier(c);
    }

    @Override
    public KvStateMachine local() {
      return inner.local();
    }

    @Override
    public boolean knownLeader() {
      return inner.knownLeader();
    }

    @Override
    public long lastContactMs() {
      return inner.lastContactMs();
    }
  }

  @Test
  void aRetriedCasOrTxnAppliesOnceAndAnswersItsFirstResult() throws Exception {
    wrap = RetryingBackend::new;
    serve();
    assertThat(body(put("/v1/kv/k?cas=0", "a"))).isEqualTo("true");
    assertThat(json(get("/v1/kv/k")).get(0).get("ModifyIndex").asLong()).isEqualTo(1);
    String v = Base64.getEncoder().encodeToString("b".getBytes(StandardCharsets.UTF_8));
    HttpResponse<byte[]> t = put("/v1/txn", "[{\"KV\":{\"Verb\":\"cas\",\"Key\":\"k\",\"Value\":\"" + v + "\",\"Index\":1}}]");
    assertThat(t.statusCode()).isEqualTo(200);
    assertThat(json(get("/v1/kv/k")).get(0).get("ModifyIndex").asLong()).isEqualTo(3);
    assertThat(store.lastApplied()).isEqualTo(4);
  }

  @Test
  void backendFailuresMapToStatusCodes() {
    wrap = inner -> new RetryingBackend(inner) {
      @Override
      public Future<KvResult> write(byte[] command) {
        return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.NO_LEADER, "none"));
      }

      @Override
      public Future<Void> readBarrier(Consistency c) {
        return c == Consistency.STALE ? Future.succeededFuture()
            : Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.TIMEOUT, "read barrier timed out"));
      }
    };
    serve();
    HttpResponse<byte[]> w = put("/v1/kv/a", "1");
    assertThat(w.statusCode()).isEqualTo(500);
    assertThat(body(w)).isEqualTo("No cluster leader");
    assertThat(get("/v1/kv/a").statusCode()).isEqualTo(504);
    assertThat(get("/v1/kv/a?stale").statusCode()).isEqualTo(404);
  }

  /** A request java.net.URI refuses to build (bad percent-encoding), over a plain socket. */
  String rawGet(String path) {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  int blockingOpen() {
    return kv.blockingQueriesOpen();
  }

  @Test
  void requestIdsOfEachThreadFormTheirOwnSequenceSoABurstFromOneLoopNeverFallsBehindAnothersWindow() throws Exception {
    serve();
    // two HTTP loops numbering writes in turn, whose bursts then reach the log one loop after the other
    java.util.concurrent.ExecutorService a = java.util.concurrent.Executors.newSingleThreadExecutor();
    java.util.concurrent.ExecutorService b = java.util.concurrent.Executors.newSingleThreadExecutor();
    List<RequestId> fromA = new java.util.ArrayList<>();
    List<RequestId> fromB = new java.util.ArrayList<>();
    int n = 2 * DedupeTable.WINDOW_MAX_DEFAULT;
    for (int i = 0; i < n; i++) {
      fromA.add(a.submit(kv::nextRequestId).get());
      fromB.add(b.submit(kv::nextRequestId).get());
    }
    a.shutdown();
    b.shutdown();
    assertThat(fromA.get(0).agent()).startsWith("n1-test.").isNotEqualTo(fromB.get(0).agent());
    KvStateMachine sm = new KvStateMachine();
    long index = 0;
    List<KvResult> results = new java.util.ArrayList<>();
    for (List<RequestId> burst : List.of(fromA, fromB)) {
      for (RequestId id : burst) {
        results.add(sm.applyRequest(++index, KvRequest.of(id, new KvCommand.Set("k" + index, new byte[] {1}, 0))));
      }
    }
    assertThat(results).hasSize(2 * n).noneMatch(r -> r instanceof KvResult.Rejected);
    assertThat(sm.size()).isEqualTo(2 * n);
  }
}
