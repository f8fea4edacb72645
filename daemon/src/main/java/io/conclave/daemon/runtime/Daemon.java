package io.conclave.daemon.runtime;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.http.HealthPolicy;
import io.conclave.daemon.http.HttpApi;
import io.conclave.daemon.http.HttpListeners;
import io.conclave.daemon.metrics.Metrics;
import io.conclave.daemon.transport.FramedOptions;
import io.conclave.daemon.transport.FramedTransport;
import io.conclave.daemon.transport.PacketSealer;
import io.conclave.daemon.transport.UdpTransport;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.net.BindException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running daemon: owns the data dir lock, Vert.x, the listeners (gossip UDP and TCP, Raft TCP
 * on servers, HTTP) and the {@link ClusterRuntime} that drives the cores.
 *
 * <p>{@link #start} and {@link #stop} block and must be called from outside Vert.x (main thread,
 * signal handler, test thread): Vert.x is closed by its caller, never from its own future chain.
 */
public final class Daemon {
  private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

  /** How long a graceful stop may take per phase before it moves on. */
  public static final Duration STOP_PHASE_TIMEOUT = Duration.ofSeconds(5);

  /** HTTP connections silent this long are closed; must exceed a blocking query's 10 min wait. */
  static final int HTTP_IDLE_TIMEOUT_SECONDS = 15 * 60;

  private final DaemonConfig config;
  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final ClusterRuntime runtime;
  private final Optional<DataDir> dataDir;
  private final Bound bound;
  private final Promise<Void> leaveRequested;
  private boolean stopped;

  /** What start bound, in order; closed in reverse. */
  private static final class Bound {
    UdpTransport gossipUdp;
    FramedTransport gossipTcp;
    FramedTransport raftTcp;
    HttpListeners http;
    boolean runtimeStarted;
  }

  private Daemon(DaemonConfig config, Vertx vertx, PrometheusMeterRegistry registry,
      ClusterRuntime runtime, Optional<DataDir> dataDir, Bound bound, Promise<Void> leaveRequested) {
    this.config = config;
    this.vertx = vertx;
    this.registry = registry;
    this.runtime = runtime;
    this.dataDir = dataDir;
    this.bound = bound;
    this.leaveRequested = leaveRequested;
  }

  /** Starts with the system clock and default health thresholds. */
  public static Daemon start(DaemonConfig config, ClusterRuntime runtime, Duration timeout) {
    return start(config, runtime, timeout, InstantSource.system(), HealthPolicy.defaults());
  }

  /**
   * Locks the data dir, binds every listener (HTTP answers 503 meanwhile), starts the runtime, then
   * serves the HTTP API. Blocks until
   * done.
   *
   * @throws StartException naming the cause (port in use, data dir unusable, runtime refused);
   *     everything opened so far is closed again
   */
  public static Daemon start(DaemonConfig config, ClusterRuntime runtime, Duration timeout,
      InstantSource clock, HealthPolicy healthPolicy) {
    check(Vertx.currentContext() == null, "Daemon.start must not run on a Vert.x thread");
    Optional<DataDir> dataDir = config.dataDir().map(DataDir::open);
    PrometheusMeterRegistry registry = Metrics.newRegistry();
    Vertx vertx = Vertx.builder()
        // Vert.x's per-request HTTP metrics look meters up by tags on every request; the daemon times
        // requests itself with cached timers (conclave_http_requests_seconds, conclave_kv_requests_seconds)
        .with(new VertxOptions().setPreferNativeTransport(nativeTransport())
            .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
            .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER).addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT)))
        .withMetrics(new MicrometerMetricsFactory(registry))
        .build();
    Context context = vertx.getOrCreateContext();
    Bound bound = new Bound();
    Promise<Void> leaveRequested = Promise.promise();
    Daemon daemon = new Daemon(config, vertx, registry, runtime, dataDir, bound, leaveRequested);
    String host = config.bind();
    AtomicReference<Handler<HttpServerRequest>> httpHandler = new AtomicReference<>(req ->
        req.response().setStatusCode(503).putHeader("Content-Type", "text/plain; charset=utf-8")
            .end("conclaved is starting"));
    Future<Void> started = bindGossip(context, config, registry, bound, GOSSIP_BIND_ATTEMPTS)
        .compose(tcp -> {
          bound.gossipTcp = tcp;
          if (!config.raftEnabled()) {
            return Future.succeededFuture();
          }
          return FramedTransport.start(context, "raft", host, config.raftPort(), FramedOptions.defaults(), registry)
              .recover(e -> Future.failedFuture(bindFailure("raft", host, config.raftPort(), e)))
              .map(raft -> {
                bound.raftTcp = raft;
                return null;
              });
        })
        .compose(v -> {
          // HTTP binds before the runtime starts, so servers can gossip their HTTP address (where
          // followers and client agents forward requests); until the API is mounted it answers 503.
          // The API serves no WebSockets: with compression negotiable (Vert.x's default) every
          // request and every answer would pass through Netty's WebSocket extension handler.
          HttpServerOptions options = new HttpServerOptions().setIdleTimeout(HTTP_IDLE_TIMEOUT_SECONDS)
              .setPerFrameWebSocketCompressionSupported(false).setPerMessageWebSocketCompressionSupported(false);
          return HttpListeners.listen(context, options, host,
                  config.httpPort(), HttpListeners.defaultLoops(), req -> httpHandler.get().handle(req))
              .recover(e -> Future.failedFuture(bindFailure("http", host, config.httpPort(), e)));
        })
        .compose(http -> {
          bound.http = http;
          RuntimeContext ctx = new RuntimeContext(context, config, registry, clock, bound.gossipUdp,
              bound.gossipTcp, Optional.ofNullable(bound.raftTcp), dataDir, http.actualPort());
          Promise<Void> runtimeStarted = Promise.promise();
          context.runOnContext(x -> runtime.start(ctx).onComplete(runtimeStarted));
          return runtimeStarted.future().onSuccess(x -> bound.runtimeStarted = true);
        })
        .map(v -> {
          HttpApi api = new HttpApi(vertx, config, runtime.view(), daemon.controlForHttp(context),
              registry, clock, healthPolicy);
          runtime.mountHttp(vertx, api.router(), registry);
          httpHandler.set(api.router());
          return null;
        });
    try {
      await(started, timeout, () -> "start timed out after " + timeout.toMillis() + " ms");
    } catch (StartException e) {
      daemon.stop(STOP_PHASE_TIMEOUT);
      throw e;
    }
    LOG.info("started node={} mode={} http={}:{} gossip={}:{} raft={} advertise={} encrypt={} transport={}",
        config.node(), config.dev() ? "dev" : config.server() ? "server" : "client", host,
        daemon.httpPort(), host, daemon.gossipPort(),
        bound.raftTcp == null ? "off" : host + ":" + bound.raftTcp.port(), config.advertise(),
        config.encrypt().isPresent(), vertx.isNativeTransportEnabled() ? "epoll" : "nio");
    return daemon;
  }

  /** Tries for an ephemeral gossip port whose number is free for both UDP and TCP. */
  private static final int GOSSIP_BIND_ATTEMPTS = 8;

  /**
   * Binds gossip UDP, then TCP push-pull on the same port number. With {@code --gossip-port 0} the
   * UDP socket takes an ephemeral port that another process may already hold on TCP: then both are
   * released and the pair is tried again on a new port, a bounded number of times.
   */
  private static Future<FramedTransport> bindGossip(Context context, DaemonConfig config, PrometheusMeterRegistry registry,
      Bound bound, int attemptsLeft) {
    String host = config.bind();
    return UdpTransport.bind(context, "gossip-udp", host, config.gossipPort(), config.encrypt(), registry)
        .recover(e -> Future.failedFuture(bindFailure("gossip (udp)", host, config.gossipPort(), e)))
        .compose(udp -> {
          bound.gossipUdp = udp;
          Optional<PacketSealer> sealer = config.encrypt().map(key -> new PacketSealer(Optional.of(key)));
          return FramedTransport.start(context, "gossip-tcp", host, udp.port(), FramedOptions.defaults(),
                  registry, sealer, new SplittableRandom())
              .recover(e -> {
                if (config.gossipPort() == 0 && attemptsLeft > 1) {
                  LOG.debug("gossip tcp port {} taken, trying another ephemeral port", udp.port());
                  bound.gossipUdp = null;
                  return udp.close().compose(v -> bindGossip(context, config, registry, bound, attemptsLeft - 1));
                }
                return Future.failedFuture(bindFailure("gossip (tcp)", host, udp.port(), e));
              });
        });
  }

  /** The control the HTTP API uses: the runtime's, with leave also ending the process. */
  private ClusterControl controlForHttp(Context context) {
    return endingOnLeave(runtime.control(), context, true);
  }

  private ClusterControl endingOnLeave(ClusterControl inner, Context context, boolean forwarding) {
    return new ClusterControl() {
      @Override
      public ClusterControl direct() {
        return forwarding ? endingOnLeave(inner.direct(), context, false) : this;
      }

      @Override
      public Future<Void> leave() {
        return inner.leave()
            .recover(e -> {
              LOG.warn("leave did not complete cleanly, stopping anyway error=\"{}\"", e.toString());
              return Future.succeededFuture();
            })
            // complete after the HTTP reply is written: listeners of the returned future run first
            .onComplete(v -> context.runOnContext(x -> leaveRequested.tryComplete()));
      }

      @Override
      public Future<Void> transferLeadership(Optional<String> targetId) {
        return inner.transferLeadership(targetId);
      }

      @Override
      public Future<Void> removePeer(String id) {
        return inner.removePeer(id);
      }
    };
  }

  /** Completes when a graceful leave was done through the API; the owner should then {@link #stop}. */
  public Future<Void> leaveRequested() {
    return leaveRequested.future();
  }

  /** Graceful leave (SIGTERM): the runtime's leave, bounded by {@code timeout}, then {@link #stop}. */
  public void leaveAndStop(Duration timeout) {
    check(Vertx.currentContext() == null, "Daemon.leaveAndStop must not run on a Vert.x thread");
    synchronized (this) {
      if (stopped) {
        return; // e.g. the shutdown hook after main already stopped gracefully
      }
    }
    if (bound.runtimeStarted && !leaveRequested.future().isComplete()) {
      try {
        await(runtime.control().leave(), timeout, () -> "leave timed out after " + timeout.toMillis() + " ms");
      } catch (StartException e) {
        LOG.warn("leave did not complete cleanly, stopping anyway error=\"{}\"", e.getMessage());
      }
    }
    stop(timeout);
  }

  /**
   * Stops HTTP (letting in-flight requests finish), the runtime, the transports, then Vert.x, and
   * releases the data dir. Idempotent; blocks; each phase is bounded by {@code timeout}.
   */
  public synchronized void stop(Duration timeout) {
    check(Vertx.currentContext() == null, "Daemon.stop must not run on a Vert.x thread");
    if (stopped) {
      return;
    }
    stopped = true;
    if (bound.http != null) {
      quietly("http", bound.http.shutdown(timeout.toMillis()), timeout);
    }
    if (bound.runtimeStarted) {
      quietly("runtime", runtime.stop(), timeout);
    }
    List<Future<Void>> closing = new ArrayList<>();
    if (bound.raftTcp != null) {
      closing.add(bound.raftTcp.close());
    }
    if (bound.gossipTcp != null) {
      closing.add(bound.gossipTcp.close());
    }
    if (bound.gossipUdp != null) {
      closing.add(bound.gossipUdp.close());
    }
    quietly("transports", Future.join(closing).mapEmpty(), timeout);
    quietly("vertx", vertx.close(), timeout);
    dataDir.ifPresent(DataDir::close);
    registry.close();
    if (bound.http != null) {
      LOG.info("stopped node={}", config.node());
    }
  }

  private static void quietly(String phase, Future<?> future, Duration timeout) {
    try {
      await(future, timeout, () -> phase + " did not stop within " + timeout.toMillis() + " ms");
    } catch (StartException e) {
      LOG.warn("stop phase={} error=\"{}\"", phase, e.getMessage());
    }
  }

  /** Blocks the calling (non-Vert.x) thread on {@code future}; failures become StartExceptions. */
  private static <T> T await(Future<T> future, Duration timeout, Supplier<String> onTimeout) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new StartException(onTimeout.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartException("interrupted");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StartException start) {
        throw start;
      }
      throw new StartException(cause == null ? e.toString() : describe(cause));
    }
  }

  /** One line for a listener that could not bind. */
  static StartException bindFailure(String listener, String host, int port, Throwable e) {
    String where = host + ":" + port;
    if (isAddressInUse(e)) {
      return new StartException(listener + " port " + where + " is already in use");
    }
    String message = describe(e);
    if (message.contains("Cannot assign requested address")) {
      return new StartException("cannot bind " + listener + " to " + where + ": " + host + " is not an address of this host");
    }
    return new StartException("cannot bind " + listener + " to " + where + ": " + message);
  }

  private static boolean isAddressInUse(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message.lines().findFirst().orElse(message);
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalStateException(message);
    }
  }

  public DaemonConfig config() {
    return config;
  }

  public int httpPort() {
    return bound.http.actualPort();
  }

  public int gossipPort() {
    return bound.gossipUdp.port();
  }

  /** The Raft port, or -1 on a client agent. */
  public int raftPort() {
    return bound.raftTcp == null ? -1 : bound.raftTcp.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Netty's native epoll transport where it loads (Linux x86-64): fewer syscalls and copies per
   * socket event than Java NIO's selector. The JVM property {@code conclave.native.transport=false}
   * keeps NIO (for an A/B, or a platform where the native library misbehaves).
   */
  static boolean nativeTransport() {
    return nativeTransport(System.getProperty("conclave.native.transport"));
  }

  /** {@code true}, {@code false} or unset (native); any other value is logged and keeps native. */
  static boolean nativeTransport(String value) {
    if (value == null || value.trim().equalsIgnoreCase("true")) {
      return true;
    }
    if (value.trim().equalsIgnoreCase("false")) {
      return false;
    }
    LOG.warn("conclave.native.transport=\"{}\" is neither true nor false; keeping the native transport", value);
    return true;
  }
}
