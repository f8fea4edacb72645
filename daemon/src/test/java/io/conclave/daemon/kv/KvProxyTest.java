package io.conclave.daemon.kv;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.http.Forwarder;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The client agent's KV proxy against stand-in servers on loopback: a reply is relayed unchanged,
 * writes carry the agent's request id and keep it when retried on the next server, a dead server
 * is skipped, and with no server at all the caller gets 500 "No cluster leader" at the bound.
 */
class KvProxyTest {
  final Vertx vertx = Vertx.vertx();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
  int proxyPort;

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  /** A stand-in server: records what it got and answers like a Consul KV endpoint. */
  String standIn() {
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create());
    router.route().handler(ctx -> {
      Map<String, String> got = new ConcurrentHashMap<>();
      got.put("method", ctx.request().method().name());
      got.put("uri", ctx.request().uri());
      got.put("body", ctx.body().asString() == null ? "" : ctx.body().asString());
      String id = ctx.request().getHeader(KvHttp.REQUEST_ID_HEADER);
      if (id != null) {
        got.put("id", id);
      }
      got.put("hops", String.valueOf(ctx.request().getHeader(Forwarder.HOPS_HEADER)));
      seen.add(got);
      ctx.response().putHeader("X-Consul-Index", "42").putHeader("Content-Type", "application/json").end("true");
    });
    HttpServer server = await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1"));
    return "127.0.0.1:" + server.actualPort();
  }

  static String closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return "127.0.0.1:" + s.getLocalPort(); // closed again at once: connections are refused
    }
  }

  void proxy(Supplier<List<String>> servers, Duration bound) {
    proxy(servers, bound, KvProxy.WRITES_IN_FLIGHT_DEFAULT);
  }

  void proxy(Supplier<List<String>> servers, Duration bound, int writesInFlightMax) {
    Router router = Router.router(vertx);
    new KvProxy(vertx, new Forwarder(vertx, "c1"), servers, "c1-boot", bound, writesInFlightMax).mount(router);
    proxyPort = await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")).actualPort();
  }

  HttpResponse<String> send(String method, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void relaysTheServersReplyAndTagsWritesWithTheAgentsRequestId() throws Exception {
    String server = standIn();
    proxy(() -> List.of(server), Duration.ofSeconds(2));
    HttpResponse<String> put = send("PUT", "/v1/kv/a%2Fb?cas=3", "v");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(put.body()).isEqualTo("true");
    assertThat(put.headers().firstValue("X-Consul-Index")).hasValue("42");
    HttpResponse<String> get = send("GET", "/v1/kv/a%2Fb?raw", null);
    assertThat(get.statusCode()).isEqualTo(200);

    assertThat(seen).hasSize(2);
    assertThat(seen.get(0)).containsEntry("method", "PUT").containsEntry("uri", "/v1/kv/a%2Fb?cas=3")
        .containsEntry("body", "v").containsEntry("id", "c1-boot/1").containsEntry("hops", "c1");
    assertThat(seen.get(1)).containsEntry("method", "GET").doesNotContainKey("id");
  }

  @Test
  void aDeadServerIsSkippedAndTheRetryKeepsTheRequestId() throws Exception {
    String dead = closedPort();
    String live = standIn();
    proxy(() -> List.of(dead, live), Duration.ofSeconds(2));
    HttpResponse<String> put = send("PUT", "/v1/kv/k", "v");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    assertThat(seen).singleElement().satisfies(got -> assertThat(got).containsEntry("id", "c1-boot/1"));
  }

  @Test
  void noServerWithinTheBoundIsNoClusterLeader() throws Exception {
    String dead = closedPort();
    proxy(() -> List.of(dead), Duration.ofMillis(300));
    HttpResponse<String> put = send("PUT", "/v1/kv/k", "v");
    assertThat(put.statusCode()).isEqualTo(500);
    assertThat(put.body()).isEqualTo("No cluster leader");
    proxy(List::of, Duration.ofMillis(300));
    assertThat(send("GET", "/v1/kv/k", null).statusCode()).isEqualTo(500);
  }

  @Test
  void anOversizedValueIsRefusedBeforeItCrossesTheNetwork() throws Exception {
    String server = standIn();
    proxy(() -> List.of(server), Duration.ofSeconds(2));
    HttpResponse<String> put = send("PUT", "/v1/kv/big", "x".repeat(KvHttp.VALUE_BYTES_MAX + 1));
    assertThat(put.statusCode()).isEqualTo(413);
    assertThat(seen).isEmpty();
  }

  @Test
  void writesBeyondTheInFlightCapWaitTheirTurnAndAreNumberedWhenTheyGo() throws Exception {
    // a stand-in that holds every write until the test lets them all go
    List<RoutingContext> held = new CopyOnWriteArrayList<>();
    Router router = Router.router(vertx);
    router.route().handler(ctx -> {
      if (ctx.request().method() == HttpMethod.GET) {
        ctx.response().end("[]");
        return;
      }
      seen.add(Map.of("id", ctx.request().getHeader(KvHttp.REQUEST_ID_HEADER)));
      held.add(ctx);
    });
    HttpServer server = await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1"));
    proxy(() -> List.of("127.0.0.1:" + server.actualPort()), Duration.ofSeconds(10), 3);

    List<CompletableFuture<HttpResponse<String>>> puts = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      puts.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/v1/kv/k" + i))
          .PUT(HttpRequest.BodyPublishers.ofString("v")).timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> held.size() == 3);
    // the other five wait at the proxy: the server sees no fourth until one of the three is answered
    assertThat(send("GET", "/v1/kv/read-passes", null).statusCode()).isEqualTo(200); // reads take no slot
    assertThat(held).hasSize(3);
    for (int answered = 0; answered < 8; answered++) {
      int next = answered;
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> held.size() > next);
      assertThat(held).hasSizeLessThanOrEqualTo(answered + 3);
      held.get(answered).response().end("true");
    }
    for (var put : puts) {
      assertThat(put.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
    // numbered in the order they went to the server: 1..8, each once
    assertThat(seen.stream().map(m -> m.get("id")).toList())
        .containsExactly("c1-boot/1", "c1-boot/2", "c1-boot/3", "c1-boot/4", "c1-boot/5", "c1-boot/6",
            "c1-boot/7", "c1-boot/8");
  }

  @Test
  void slotsStartWaitersInArrivalOrderAndFreeTheSlotWhenNoneWaits() {
    KvProxy.Slots slots = new KvProxy.Slots(2);
    List<String> started = new CopyOnWriteArrayList<>();
    Context context = vertx.getOrCreateContext();
    for (String name : List.of("a", "b", "c", "d")) {
      slots.acquire(context, () -> started.add(name));
    }
    assertThat(started).containsExactly("a", "b");
    assertThat(slots.waiting()).isEqualTo(2);
    slots.release();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> started.size() == 3);
    assertThat(started).containsExactly("a", "b", "c");
    assertThat(slots.held()).isEqualTo(2);
    slots.release();
    slots.release();
    slots.release();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> started.size() == 4);
    assertThat(started).containsExactly("a", "b", "c", "d");
    assertThat(slots.held()).isZero();
    assertThat(slots.waiting()).isZero();
  }

  @Test
  void aForwardedRequestIdIsParsedOrIgnored() {
    assertThat(KvHttp.parseRequestId("c1-boot/7")).hasValue(new RequestId("c1-boot", 7));
    assertThat(KvHttp.parseRequestId("node/with/slash/9")).hasValue(new RequestId("node/with/slash", 9));
    assertThat(KvHttp.parseRequestId("nope")).isEmpty();
    assertThat(KvHttp.parseRequestId("/5")).isEmpty();
    assertThat(KvHttp.parseRequestId("a/0")).isEmpty();
    assertThat(KvHttp.parseRequestId("a/x")).isEmpty();
  }
}
