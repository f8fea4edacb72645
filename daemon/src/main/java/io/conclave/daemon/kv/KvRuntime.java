package io.conclave.daemon.kv;

import io.conclave.daemon.bridge.AutopilotSettings;
import io.conclave.daemon.bridge.BridgeSettings;
import io.conclave.daemon.bridge.ServerRuntime;
import io.conclave.daemon.raft.RaftPeers;
import io.conclave.daemon.raft.RaftTiming;
import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.raft.RaftClusterRuntime;
import io.conclave.daemon.raft.RaftLinkFilter;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.runtime.RuntimeContext;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.time.Duration;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import io.conclave.daemon.http.Forwarder;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.UUID;

/**
 * A server's runtime with the replicated KV store on top: it runs the inner runtime unchanged and
 * mounts {@code /v1/kv} and {@code /v1/txn}. Until Raft has started (a server waiting for
 * bootstrap-expect), writes and linearizable reads answer 503 and stale reads see the empty store.
 */
public final class KvRuntime implements ClusterRuntime {
  private final ClusterRuntime inner;
  private final RaftClusterRuntime raft;
  private final KvStateMachine store;
  private final Function<String, Optional<String>> httpAddressOf;
  private final Duration forwardBound;
  private volatile KvBackend backend;
  private volatile RaftKvBackend raftBackend;
  private Forwarder forwarder;

  /**
   * A server as {@code conclaved --server} runs it: gossip and Raft bridged ({@link ServerRuntime}),
   * the KV store as the Raft application and the home of autopilot's cluster-wide thresholds, and
   * writes forwarded to the leader at the HTTP address gossip shows for it.
   */
  public static KvRuntime server(BridgeSettings settings, RaftTiming timing) {
    return server(settings, timing, RaftLinkFilter.ALLOW_ALL);
  }

  /** As {@link #server(BridgeSettings, RaftTiming)}, with outgoing Raft frames filtered (tests' partitions). */
  public static KvRuntime server(BridgeSettings settings, RaftTiming timing, RaftLinkFilter linkFilter) {
    KvStateMachine store = new KvStateMachine();
    RaftClusterRuntime raft = new RaftClusterRuntime(new RaftPeers(), Optional.empty(), timing,
        RaftKvBackend.stateMachine(store), linkFilter);
    ServerRuntime server = new ServerRuntime(raft, settings)
        .withClusterSettings(() -> store.get(AutopilotSettings.KEY).entry().map(KvEntry::value));
    return new KvRuntime(server, raft, store, server::httpAddressOf, settings.forwardBound());
  }

  /** The runtime this one wraps (the {@link ServerRuntime} for {@link #server}). */
  public ClusterRuntime inner() {
    return inner;
  }

  public KvStateMachine store() {
    return store;
  }

  /**
   * @param raft the Raft runtime inside {@code inner}, built with {@link
   *     RaftKvBackend#stateMachine(KvStateMachine)} of {@code store}
   */
  public KvRuntime(ClusterRuntime inner, RaftClusterRuntime raft, KvStateMachine store) {
    this(inner, raft, store, node -> Optional.empty(), BridgeSettings.DEFAULT_FORWARD_BOUND);
  }

  /**
   * @param httpAddressOf a server's HTTP address by node name (from gossip), where this server
   *     forwards writes when it is not the leader
   * @param forwardBound how long a request may wait for a leader (see {@link BridgeSettings#forwardBound()})
   */
  public KvRuntime(ClusterRuntime inner, RaftClusterRuntime raft, KvStateMachine store,
      Function<String, Optional<String>> httpAddressOf, Duration forwardBound) {
    this.httpAddressOf = httpAddressOf;
    this.forwardBound = forwardBound;
    this.inner = inner;
    this.raft = raft;
    this.store = store;
    this.backend = new NotStarted(store);
  }

  @Override
  public Future<Void> start(RuntimeContext ctx) {
    forwarder = new Forwarder(ctx.context().owner(), ctx.config().node()).bindMetrics(ctx.registry());
    RaftKvBackend.Forwarding forwarding = new RaftKvBackend.Forwarding(httpAddressOf, forwarder,
        forwardBound);
    return inner.start(ctx).onSuccess(v -> raft.raft().onSuccess(r -> {
      raftBackend = new RaftKvBackend(ctx.context().owner(), r, store, Optional.of(forwarding));
      backend = raftBackend;
    }));
  }

  @Override
  public void mountHttp(Vertx vertx, Router router, MeterRegistry registry) {
    KvBackend delegating = new KvBackend() {
      public Future<KvResult> write(byte[] command) { return backend.write(command); }
      public Future<Void> readBarrier(Consistency c) { return backend.readBarrier(c); }
      public KvStateMachine local() { return store; }
      public boolean knownLeader() { return backend.knownLeader(); }
      public long lastContactMs() { return backend.lastContactMs(); }
    };
    // The agent id makes request ids unique across restarts of this daemon (exactly-once writes).
    String agentId = UUID.randomUUID().toString();
    new KvHttp(vertx, delegating, agentId, new SplittableRandom(), KvWatches.WATCHERS_MAX_DEFAULT)
        .bindMetrics(registry)
        .mount(router);
    // the internal channel: writes other servers forward here when this one leads
    router.post(RaftKvBackend.APPLY_PATH).handler(BodyHandler.create(false).setBodyLimit(RaftKvBackend.APPLY_BODY_BYTES_MAX));
    router.post(RaftKvBackend.APPLY_PATH).handler(ctx -> {
      RaftKvBackend b = raftBackend;
      if (b == null) {
        ctx.response().setStatusCode(409).putHeader(RaftKvBackend.ERROR_HEADER, "NOT_LEADER")
            .end("raft has not started on this server yet");
      } else {
        b.serveApply(ctx);
      }
    });
  }

  @Override
  public ClusterView view() {
    return inner.view();
  }

  @Override
  public ClusterControl control() {
    return inner.control();
  }

  @Override
  public Future<Void> stop() {
    if (raftBackend != null) raftBackend.close();
    Forwarder f = forwarder;
    return inner.stop().eventually(() -> f == null ? Future.succeededFuture() : f.close());
  }

  /** The backend before Raft runs: nothing can be written or read linearizably yet. */
  private record NotStarted(KvStateMachine local) implements KvBackend {
    @Override
    public Future<KvResult> write(byte[] command) {
      return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE,
          "raft has not started on this server yet (waiting for bootstrap)"));
    }

    @Override
    public Future<Void> readBarrier(Consistency consistency) {
      if (consistency == Consistency.STALE) return Future.succeededFuture();
      return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE,
          "raft has not started on this server yet (waiting for bootstrap)"));
    }

    @Override
    public boolean knownLeader() {
      return false;
    }

    @Override
    public long lastContactMs() {
      return 0;
    }
  }
}
