package io.conclave.daemon.http;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP API served by several event loops: one {@link HttpServer} per loop, all on the same
 * address (Vert.x hands each new connection to the next server in turn), each running the same
 * request handler on its own loop. The Raft runtime keeps its own loop: parsing requests and
 * writing answers, most of a KV request's work, no longer queues behind Raft's, and a leader
 * serving many clients uses more than one core. Handlers must therefore be safe on any loop; the
 * KV handlers hop into the Raft runtime and back to the request's loop with the result.
 *
 * <p>Port 0 asks for an ephemeral port shared by all the servers (Vert.x's negative-port sharing).
 */
public final class HttpListeners {
  /**
   * Event loops serving HTTP: one per core, at most 4 (a sidecar needs no more); the JVM property
   * {@code conclave.http.loops} overrides it (e.g. {@code CONCLAVED_JAVA_OPTS=-Dconclave.http.loops=1}).
   */
  public static int defaultLoops() {
    int loops = Integer.getInteger("conclave.http.loops", Math.min(4, Runtime.getRuntime().availableProcessors()));
    return Math.max(1, Math.min(16, loops));
  }

  private final List<HttpServer> servers;

  private HttpListeners(List<HttpServer> servers) {
    this.servers = List.copyOf(servers);
  }

  /** Binds {@code loops} servers on {@code host:port}; fails (and binds nothing) if one cannot listen. */
  public static Future<HttpListeners> listen(Vertx vertx, HttpServerOptions options, String host, int port, int loops,
      Handler<HttpServerRequest> handler) {
    List<HttpServer> bound = new CopyOnWriteArrayList<>();
    int shared = port == 0 ? -1 : port;
    return vertx.deployVerticle(() -> new VerticleBase() {
      @Override
      public Future<?> start() {
        return vertx.createHttpServer(new HttpServerOptions(options)).requestHandler(handler).listen(shared, host)
            .onSuccess(bound::add);
      }
    }, new DeploymentOptions().setInstances(loops)).map(id -> new HttpListeners(bound));
  }

  public int actualPort() {
    return servers.get(0).actualPort();
  }

  public int loops() {
    return servers.size();
  }

  /**
   * Stops accepting and lets requests in flight finish, up to {@code timeoutMs}, on every loop. The
   * deployment itself goes when Vert.x closes.
   */
  public Future<Void> shutdown(long timeoutMs) {
    return Future.join(servers.stream().map(s -> s.shutdown(timeoutMs, TimeUnit.MILLISECONDS)).toList()).mapEmpty();
  }
}
