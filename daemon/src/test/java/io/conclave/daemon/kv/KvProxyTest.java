package io.conclave.daemon.kv;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.http.Forwarder;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
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
    Router router = Router.router(vertx);
    new KvProxy(vertx, new Forwarder(vertx, "c1"), servers, "c1-boot", bound).mount(router);
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
  void aForwardedRequestIdIsParsedOrIgnored() {
    assertThat(KvHttp.parseRequestId("c1-boot/7")).hasValue(new RequestId("c1-boot", 7));
    assertThat(KvHttp.parseRequestId("node/with/slash/9")).hasValue(new RequestId("node/with/slash", 9));
    assertThat(KvHttp.parseRequestId("nope")).isEmpty();
    assertThat(KvHttp.parseRequestId("/5")).isEmpty();
    assertThat(KvHttp.parseRequestId("a/0")).isEmpty();
    assertThat(KvHttp.parseRequestId("a/x")).isEmpty();
  }
}
