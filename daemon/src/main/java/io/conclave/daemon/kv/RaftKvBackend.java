package io.conclave.daemon.kv;

import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.raft.RaftRequestException;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.raft.RaftState;
import io.conclave.daemon.raft.StateMachine;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;

/**
 * {@link KvBackend} over the Raft runtime: writes are {@link RaftRuntime#propose}d and answered
 * with the {@link KvResult} the state machine returned on this server; DEFAULT reads use the
 * leader lease, CONSISTENT a ReadIndex confirmed by a heartbeat round, STALE nothing.
 *
 * <p>Wiring (for the runtime's start-up): create one {@link KvStateMachine}, pass
 * {@link #stateMachine(KvStateMachine)} to the {@code RaftClusterRuntime}, and once
 * {@code raft()} completes mount {@code new KvHttp(vertx, new RaftKvBackend(vertx, raft, store), ...)}
 * on the HTTP router.
 *
 * <p>Seam: a follower answers NOT_LEADER here (503 naming the leader); forwarding the request to the
 * leader over the internal channel belongs in the runtime, behind this same interface.
 */
public final class RaftKvBackend implements KvBackend {
  /** How often the leader/last-contact headers are refreshed from the runtime. */
  public static final long STATE_REFRESH_MS = 100;

  private final Vertx vertx;
  private final RaftRuntime raft;
  private final KvStateMachine store;
  private final long timerId;
  private volatile RaftState state;

  public RaftKvBackend(Vertx vertx, RaftRuntime raft, KvStateMachine store) {
    this.vertx = vertx;
    this.raft = raft;
    this.store = store;
    refresh();
    this.timerId = vertx.setPeriodic(STATE_REFRESH_MS, id -> refresh());
  }

  /**
   * The Raft side of the wiring: committed KV commands applied in log order, snapshots captured
   * with {@link KvStateMachine#capture} and restored with {@link KvStateMachine#readSnapshot}.
   */
  public static StateMachine stateMachine(KvStateMachine store) {
    return new StateMachine() {
      @Override
      public Object apply(long index, byte[] command) {
        return store.apply(index, command);
      }

      @Override
      public boolean snapshots() {
        return true;
      }

      @Override
      public Capture snapshot() {
        return store.capture()::writeTo;
      }

      @Override
      public Restore prepareRestore(InputStream in) throws IOException {
        try {
          return store.readSnapshot(in)::install;
        } catch (KvCodecException e) {
          throw new IOException("not a KV snapshot this server reads: " + e.getMessage(), e);
        }
      }
    };
  }

  /** Stops refreshing the leader state. */
  public void close() {
    vertx.cancelTimer(timerId);
  }

  private void refresh() {
    raft.state().onSuccess(s -> state = s);
  }

  @Override
  public Future<KvResult> write(byte[] command) {
    return raft.propose(command).<KvResult>compose(result -> {
      if (result instanceof KvResult r) {
        return Future.succeededFuture(r);
      }
      return Future.failedFuture(new IllegalStateException("the Raft state machine answered " + result + ", not a KvResult (not wired to KvStateMachine?)"));
    }).recover(e -> Future.failedFuture(translate(e)));
  }

  @Override
  public Future<Void> readBarrier(Consistency consistency) {
    if (consistency == Consistency.STALE) {
      return Future.succeededFuture();
    }
    return raft.readBarrier(consistency == Consistency.DEFAULT).<Void>mapEmpty().recover(e -> Future.failedFuture(translate(e)));
  }

  @Override
  public KvStateMachine local() {
    return store;
  }

  @Override
  public boolean knownLeader() {
    RaftState s = state;
    return s != null && s.failure().isEmpty() && !s.leaderId().isEmpty();
  }

  @Override
  public long lastContactMs() {
    RaftState s = state;
    return s == null ? 0 : Math.max(0, s.lastContactMs());
  }

  /** Raft failures as the HTTP layer's kinds (see {@link KvBackend}). */
  static Throwable translate(Throwable e) {
    if (!(e instanceof RaftRequestException r)) {
      return e;
    }
    switch (r.kind()) {
      case NOT_LEADER:
        if (r.leaderId().isEmpty()) {
          return new ClusterControlException(ClusterControlException.Kind.NO_LEADER, r.getMessage());
        }
        return new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE,
            "this server is not the leader (leader " + r.leaderId() + " at " + r.leaderAddress() + "); forwarding is not wired yet");
      case TIMEOUT:
        return new ClusterControlException(ClusterControlException.Kind.TIMEOUT, "Timed out: " + r.getMessage()
            + " (a write may still be applied; retrying it is deduplicated)");
      case LOST:
        return new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, "Leadership changed; not applied: " + r.getMessage());
      case REJECTED:
      case STOPPED:
      default:
        return new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, r.getMessage());
    }
  }
}
