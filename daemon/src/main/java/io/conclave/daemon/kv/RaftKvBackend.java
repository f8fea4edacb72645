package io.conclave.daemon.kv;

import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.raft.RaftRequestException;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.raft.RaftState;
import io.conclave.daemon.raft.StateMachine;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.conclave.daemon.http.Forwarder;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.InputStream;

/**
 * {@link KvBackend} over the Raft runtime: writes are {@link RaftRuntime#propose}d and answered
 * with the {@link KvResult} the state machine returned; DEFAULT reads use the leader lease,
 * CONSISTENT a ReadIndex confirmed by a heartbeat round, STALE nothing.
 *
 * <p>On a follower a write goes to the leader over the internal channel ({@link Forwarder}, to the
 * leader's HTTP address from gossip, {@link #APPLY_PATH}) as the same encoded bytes, so its
 * {@link RequestId} travels with it; reads run a ReadIndex through the leader and are served here.
 * Every failure a retry can cure (no leader yet, leadership moved, the leader did not answer) is
 * retried with the same bytes until the forwarding bound ({@link io.conclave.daemon.bridge.BridgeSettings#forwardBound()}); the state machine's dedupe table
 * makes the retries apply once. When the bound runs out: NO_LEADER (500 "No cluster leader", not
 * applied) if no attempt ever reached a leader's log, TIMEOUT (504, may be applied) otherwise.
 */
public final class RaftKvBackend implements KvBackend {
  private static final Logger LOG = LoggerFactory.getLogger(RaftKvBackend.class);

  /** How often the leader/last-contact headers are refreshed from the runtime. */
  public static final long STATE_REFRESH_MS = 100;
  /** Where a leader takes a forwarded, encoded {@link KvRequest}; internal, not a Consul path. */
  public static final String APPLY_PATH = "/v1/internal/kv/apply";
  /** Response header naming the {@link RaftRequestException.Kind} of a refused forwarded write. */
  static final String ERROR_HEADER = "X-Conclave-Raft-Error";
  /** Response header with the refusing server's leader hint. */
  static final String LEADER_HEADER = "X-Conclave-Leader";
  /** An encoded command is at most a value, a key and a little framing; a txn body is smaller. */
  static final int APPLY_BODY_BYTES_MAX = KvHttp.VALUE_BYTES_MAX + 64 * 1024;
  /** First and largest pause between two attempts. */
  static final long RETRY_FIRST_MS = 10;
  static final long RETRY_MAX_MS = 200;

  /** How to reach the leader: its HTTP address by node name, and the channel. */
  public record Forwarding(Function<String, Optional<String>> httpAddressOf, Forwarder forwarder, Duration bound) {}

  private final Vertx vertx;
  private final RaftRuntime raft;
  private final KvStateMachine store;
  private final Optional<Forwarding> forwarding;
  private final long boundNanos;
  private final long timerId;
  private volatile RaftState state;

  /** A backend that serves only what this server can do itself (a follower answers NOT_LEADER). */
  public RaftKvBackend(Vertx vertx, RaftRuntime raft, KvStateMachine store) {
    this(vertx, raft, store, Optional.empty());
  }

  public RaftKvBackend(Vertx vertx, RaftRuntime raft, KvStateMachine store, Optional<Forwarding> forwarding) {
    this.vertx = vertx;
    this.raft = raft;
    this.store = store;
    this.forwarding = forwarding;
    this.boundNanos = forwarding.map(f -> f.bound().toNanos()).orElse(0L);
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
    if (forwarding.isEmpty()) {
      return proposeHere(command).recover(e -> Future.failedFuture(translate(e)));
    }
    return new Attempts<KvResult>(System.nanoTime() + boundNanos) {
      @Override
      Future<KvResult> once() {
        return proposeHere(command).recover(e -> {
          if (e instanceof RaftRequestException r && r.kind() == RaftRequestException.Kind.NOT_LEADER
              && !r.leaderId().isEmpty()) {
            return forward(r.leaderId(), command, this);
          }
          return Future.failedFuture(e);
        });
      }
    }.run();
  }

  /** Proposes on this server; fails NOT_LEADER on a follower. */
  public Future<KvResult> proposeHere(byte[] command) {
    return raft.propose(command).compose(result -> {
      if (result instanceof KvResult r) {
        return Future.succeededFuture(r);
      }
      return Future.failedFuture(new IllegalStateException("the Raft state machine answered " + result + ", not a KvResult (not wired to KvStateMachine?)"));
    });
  }

  /** One hop to the leader; its refusals come back as the RaftRequestException it raised. */
  private Future<KvResult> forward(String leader, byte[] command, Attempts<?> attempts) {
    Forwarding f = forwarding.orElseThrow();
    Optional<String> address = f.httpAddressOf().apply(leader);
    if (address.isEmpty()) {
      return Future.failedFuture(new RaftRequestException(RaftRequestException.Kind.NOT_LEADER,
          "leader " + leader + " has no HTTP address in gossip yet", leader, ""));
    }
    long remainingMs = Math.max(1, attempts.remainingMs());
    return f.forwarder().send(address.get(), HttpMethod.POST, APPLY_PATH, null, Buffer.buffer(command), remainingMs)
        .recover(e -> {
          if (Forwarder.neverSent(e)) {
            return Future.failedFuture(new RaftRequestException(RaftRequestException.Kind.NOT_LEADER,
                "leader " + leader + " at " + address.get() + " refused the connection", "", ""));
          }
          attempts.reachedLeader = true; // sent without an answer: it may be appended all the same
          return Future.failedFuture(new RaftRequestException(RaftRequestException.Kind.TIMEOUT,
              "leader " + leader + " at " + address.get() + " did not answer: " + e.getMessage()));
        })
        .compose(reply -> {
          if (reply.status() == 200) {
            try {
              return Future.succeededFuture(KvCodec.decodeResult(reply.body().getBytes()));
            } catch (KvCodecException e) {
              return Future.failedFuture(new IllegalStateException("leader " + leader + " answered an unreadable result: " + e.getMessage()));
            }
          }
          String kind = reply.headers().get(ERROR_HEADER);
          if (kind != null) {
            RaftRequestException.Kind k;
            try {
              k = RaftRequestException.Kind.valueOf(kind);
            } catch (IllegalArgumentException e) {
              k = RaftRequestException.Kind.REJECTED;
            }
            if (k == RaftRequestException.Kind.TIMEOUT) {
              attempts.reachedLeader = true; // the leader proposed it and saw no outcome in time
            }
            return Future.failedFuture(new RaftRequestException(k, reply.text(), "", ""));
          }
          return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE,
              "leader " + leader + " answered " + reply.status() + ": " + reply.text()));
        });
  }

  @Override
  public Future<Void> readBarrier(Consistency consistency) {
    if (consistency == Consistency.STALE) {
      return Future.succeededFuture();
    }
    if (forwarding.isEmpty()) {
      return raft.readBarrier(consistency == Consistency.DEFAULT).<Void>mapEmpty().recover(e -> Future.failedFuture(translate(e)));
    }
    return new Attempts<Void>(System.nanoTime() + boundNanos) {
      @Override
      Future<Void> once() {
        return raft.readBarrier(consistency == Consistency.DEFAULT).mapEmpty();
      }
    }.run();
  }

  /** Serves a write forwarded by another daemon: proposes it here, never forwards it again. */
  void serveApply(RoutingContext ctx) {
    byte[] bytes = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    try {
      KvCodec.decode(bytes);
    } catch (KvCodecException e) {
      LOG.debug("forwarded write dropped from={} reason=\"{}\"", ctx.request().getHeader(Forwarder.HOPS_HEADER), e.getMessage());
      ctx.response().setStatusCode(400).end("Bad forwarded command: " + e.getMessage());
      return;
    }
    Context here = vertx.getOrCreateContext();
    proposeHere(bytes).onComplete(ar -> here.runOnContext(v -> {
      if (ar.succeeded()) {
        ctx.response().setStatusCode(200).putHeader("Content-Type", "application/octet-stream")
            .end(Buffer.buffer(KvCodec.encodeResult(ar.result())));
      } else if (ar.cause() instanceof RaftRequestException r) {
        ctx.response().setStatusCode(409).putHeader(ERROR_HEADER, r.kind().name())
            .putHeader(LEADER_HEADER, r.leaderId()).end(r.getMessage() == null ? "" : r.getMessage());
      } else {
        ctx.response().setStatusCode(500).end("Internal error: " + ar.cause());
      }
    }));
  }

  /**
   * Retries {@link #once} with growing pauses until it succeeds, fails for good, or the deadline
   * passes; then the failure is translated for the HTTP layer.
   */
  private abstract class Attempts<T> {
    final long deadlineNanos;
    final Promise<T> done = Promise.promise();
    long pauseMs = RETRY_FIRST_MS;
    /** Whether any attempt may have put the command in a leader's log (then never "not applied"). */
    boolean reachedLeader;
    int tries;

    Attempts(long deadlineNanos) {
      this.deadlineNanos = deadlineNanos;
    }

    abstract Future<T> once();

    long remainingMs() {
      return (deadlineNanos - System.nanoTime()) / 1_000_000;
    }

    Future<T> run() {
      attempt();
      return done.future();
    }

    private void attempt() {
      tries++;
      once().onComplete(ar -> {
        if (ar.succeeded()) {
          done.tryComplete(ar.result());
          return;
        }
        Throwable e = ar.cause();
        if (!(e instanceof RaftRequestException r) || r.kind() == RaftRequestException.Kind.STOPPED) {
          done.tryFail(translate(e));
          return;
        }
        if (r.kind() == RaftRequestException.Kind.TIMEOUT) {
          reachedLeader = true; // an unanswered proposal may still commit
        }
        if (remainingMs() <= pauseMs) {
          done.tryFail(giveUp(r));
          return;
        }
        vertx.setTimer(pauseMs, t -> attempt());
        pauseMs = Math.min(RETRY_MAX_MS, pauseMs * 2);
      });
    }

    private Throwable giveUp(RaftRequestException last) {
      long boundMs = boundNanos / 1_000_000;
      if (reachedLeader) {
        return new ClusterControlException(ClusterControlException.Kind.TIMEOUT, "Timed out after " + boundMs
            + " ms and " + tries + " attempts: " + last.getMessage() + " (the request may still be applied; retrying it is deduplicated)");
      }
      if (last.kind() == RaftRequestException.Kind.NOT_LEADER) {
        LOG.warn("kv request failed: no leader within {} ms attempts={} last=\"{}\"", boundMs, tries, last.getMessage());
        return new ClusterControlException(ClusterControlException.Kind.NO_LEADER, "No cluster leader");
      }
      return new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, "Not applied after " + boundMs
          + " ms: " + last.getMessage());
    }
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
            "this server is not the leader (leader " + r.leaderId() + " at " + r.leaderAddress() + ")");
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
