package io.conclave.daemon.kv;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.raft.RaftClusterRuntime;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.runtime.RuntimeContext;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.util.SplittableRandom;
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
  private volatile KvBackend backend;
  private RaftKvBackend raftBackend;

  /**
   * @param raft the Raft runtime inside {@code inner}, built with {@link
   *     RaftKvBackend#stateMachine(KvStateMachine)} of {@code store}
   */
  public KvRuntime(ClusterRuntime inner, RaftClusterRuntime raft, KvStateMachine store) {
    this.inner = inner;
    this.raft = raft;
    this.store = store;
    this.backend = new NotStarted(store);
  }

  @Override
  public Future<Void> start(RuntimeContext ctx) {
    return inner.start(ctx).onSuccess(v -> raft.raft().onSuccess(r -> {
      raftBackend = new RaftKvBackend(ctx.context().owner(), r, store);
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
    return inner.stop();
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
