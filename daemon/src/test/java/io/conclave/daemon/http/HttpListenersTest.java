package io.conclave.daemon.http;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpListenersTest {
  private final Vertx vertx = Vertx.vertx();
  private final HttpClient client = HttpClient.newHttpClient();

  @AfterEach
  void close() {
    await(vertx.close());
  }

  @Test
  void oneLoopOfItsOwnPerTwoCoresFromOneUpToFourAndTheOverrideIsClamped() {
    assertThat(HttpListeners.loopsFor(1, null)).isEqualTo(1);
    assertThat(HttpListeners.loopsFor(2, null)).isEqualTo(1);
    assertThat(HttpListeners.loopsFor(3, null)).isEqualTo(1);
    assertThat(HttpListeners.loopsFor(4, null)).isEqualTo(2);
    assertThat(HttpListeners.loopsFor(8, null)).isEqualTo(4);
    assertThat(HttpListeners.loopsFor(16, null)).isEqualTo(4);
    assertThat(HttpListeners.loopsFor(2, "3")).isEqualTo(3);
    assertThat(HttpListeners.loopsFor(8, " 0 ")).isZero();
    assertThat(HttpListeners.loopsFor(2, "-5")).isZero();
    assertThat(HttpListeners.loopsFor(2, "99")).isEqualTo(16);
    assertThat(HttpListeners.loopsFor(2, "two")).isEqualTo(1);
  }

  private String get(int port) throws Exception {
    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  private static Thread threadOf(Context c) {
    Promise<Thread> p = Promise.promise();
    c.runOnContext(v -> p.complete(Thread.currentThread()));
    return await(p.future());
  }

  @Test
  void withNoLoopsOfItsOwnEveryRequestIsServedOnTheHomeContextsThread() throws Exception {
    Context home = vertx.getOrCreateContext();
    Thread homeThread = threadOf(home);
    HttpListeners http = await(HttpListeners.listen(home, new HttpServerOptions(), "127.0.0.1", 0, 0,
        req -> req.response().end(Boolean.toString(Thread.currentThread() == homeThread))));
    assertThat(http.loops()).isEqualTo(1);
    for (int i = 0; i < 5; i++) {
      assertThat(get(http.actualPort())).isEqualTo("true");
    }
    await(http.shutdown(1000));
  }

  @Test
  void withLoopsOfItsOwnRequestsAreServedOffTheHomeContextsThread() throws Exception {
    Context home = vertx.getOrCreateContext();
    Thread homeThread = threadOf(home);
    Set<String> threads = java.util.Collections.synchronizedSet(new HashSet<>());
    HttpListeners http = await(HttpListeners.listen(home, new HttpServerOptions(), "127.0.0.1", 0, 2, req -> {
      threads.add(Thread.currentThread().getName());
      req.response().end(Boolean.toString(Thread.currentThread() == homeThread));
    }));
    assertThat(http.loops()).isEqualTo(2);
    for (int i = 0; i < 6; i++) {
      // a new client, so a new connection, each time: Vert.x hands connections to the servers in turn
      HttpClient fresh = HttpClient.newHttpClient();
      HttpResponse<String> r = fresh.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.actualPort() + "/"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.body()).isEqualTo("false");
    }
    assertThat(threads).hasSize(2);
    await(http.shutdown(1000));
  }
}
