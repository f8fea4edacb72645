package io.conclave.daemon.http;

import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API, served either on the daemon's own event loop (the one gossip and the Raft runtime
 * run on) or by several loops of its own: one {@link HttpServer} per loop, all on the same address
 * (Vert.x hands each new connection to the next server in turn), each running the same request
 * handler on its own loop. Handlers must therefore be safe on any loop; the KV handlers hop into
 * the Raft runtime and back to the request's loop with the result ({@code Handoff}).
 *
 * <p>Loops of their own are the default, so no burst of HTTP work, however many connections
 * send it, runs between the Raft runtime's timers and messages on its loop. On 2 cores with 64
 * busy connections, one loop for everything served 1.06 times the writes of one HTTP loop beside
 * it (1.1 to 1.3 times those of two), and survived a flood of 1,024 connections with no election
 * once servers had a big enough heap (docs/benchmarks.md). An earlier flood, with a heap that ran a
 * 50 to 110 ms full collection every 1.5 s, cost the shared loop several elections; sharing is
 * opt-in ({@code conclave.http.loops=0}).
 *
 * <p>Port 0 asks for an ephemeral port shared by all the servers (Vert.x's negative-port sharing).
 */
public final class HttpListeners {
  private static final Logger LOG = LoggerFactory.getLogger(HttpListeners.class);

  /**
   * Event loops of its own serving HTTP: one per two cores, at least 1 and at most 4 (a sidecar
   * needs no more; on 2 cores one HTTP loop beside the daemon's own served 1.07 times the writes and
   * 1.24 times the {@code ?consistent} reads of two, with fewer threads to schedule). The JVM
   * property {@code conclave.http.loops} overrides it, 0 to 16; 0 serves HTTP on the daemon's own
   * loop (e.g. {@code CONCLAVED_JAVA_OPTS=-Dconclave.http.loops=0}), faster at tens of connections
   * on 2 cores but unsafe under a flood (see the class comment).
   */
  public static int defaultLoops() {
    return loopsFor(Runtime.getRuntime().availableProcessors(), System.getProperty("conclave.http.loops"));
  }

  /** The loops for {@code cores}; {@code override} (null: none) clamped to 0..16, a non-number logged and ignored. */
  static int loopsFor(int cores, String override) {
    int loops = Math.max(1, Math.min(4, cores / 2));
    if (override != null) {
      try {
        loops = Integer.parseInt(override.trim());
      } catch (NumberFormatException e) {
        LOG.warn("conclave.http.loops=\"{}\" is not a number; keeping {}", override, loops);
      }
    }
    return Math.max(0, Math.min(16, loops));
  }

  private final List<HttpServer> servers;

  private HttpListeners(List<HttpServer> servers) {
    this.servers = List.copyOf(servers);
  }

  /**
   * Binds {@code loops} servers on {@code host:port}, each on an event loop of its own, or with
   * {@code loops == 0} one server on {@code home}'s loop; fails (and binds nothing) if one cannot listen.
   */
  public static Future<HttpListeners> listen(Context home, HttpServerOptions options, String host, int port, int loops,
      Handler<HttpServerRequest> handler) {
    Vertx vertx = home.owner();
    if (loops == 0) {
      Promise<HttpListeners> done = Promise.promise();
      home.runOnContext(v -> vertx.createHttpServer(new HttpServerOptions(options)).requestHandler(handler).listen(port, host)
          .map(s -> new HttpListeners(List.of(s))).onComplete(done));
      return done.future();
    }
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
