package io.conclave.daemon.raft;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.message.Message;
import io.conclave.consensus.message.MessageCodec;
import io.conclave.consensus.raft.ConfChange;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.ProposeResult;
import io.conclave.consensus.raft.RaftNode;
import io.conclave.consensus.raft.ReadState;
import io.conclave.consensus.raft.Ready;
import io.conclave.consensus.raft.Role;
import io.conclave.consensus.raft.Snapshot;
import io.conclave.daemon.runtime.Handoff;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.internal.ContextInternal;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one {@link RaftNode} from one Vert.x context: a periodic timer ticks it, inbound Raft frames
 * are decoded and stepped, and after every batch of inputs its {@link Ready} is carried out in the
 * order that keeps Raft safe:
 *
 * <ol>
 *   <li>the Ready's {@code sendBeforeSync} messages are sent at once, before anything is written:
 *       the leader's AppendEntries, Heartbeat and InstallSnapshot, and replies that acknowledge
 *       nothing (HeartbeatResponse, ReadIndex), which the core puts there only once the term and
 *       vote they rely on are forced. So the leader's fsync runs in parallel with replication
 *       (dissertation §10.2.1), and a follower's heartbeat answer never waits behind a slow fsync;
 *   <li>entries and hard state are written to the {@link LogStore} and forced, off the event loop on
 *       one ordered worker ({@code raft-wal}); while one sync is in flight, later Readies wait and
 *       go together in the next one (group commit: many proposals, one fsync). A hard state that
 *       only moves the commit index forces nothing: it is written with the next sync;
 *   <li>back on the context, once durable: the sync is reported to the node ({@link
 *       RaftNode#persisted} for the batch's last entry, {@link RaftNode#persistedHardState}), which
 *       may commit (the leader counts its own log only this far), so a collect follows; the Ready's
 *       other messages are sent, its committed entries applied to the {@link StateMachine} in order,
 *       and its reads served once applied.
 * </ol>
 *
 * One exception to "persist, then apply": committed entries that this server has already forced
 * are applied as soon as their Ready arrives, even while that Ready waits for a sync of its own
 * (new entries, hard state); see {@link #applyDurable}.
 *
 * A Ready that needs no sync (early messages, commits, a commit-only hard state) is carried out at
 * once when nothing is in flight, else it waits its turn behind the sync, so Readies are always
 * carried out in order.
 *
 * <p>Snapshots ({@link SnapshotPolicy}): once the applied index is {@code thresholdEntries} past the
 * last snapshot, the state machine's state is captured on the context at the applied index, written
 * on a worker, saved and forced through the log store on the {@code raft-wal} worker, and only then
 * handed to {@link RaftNode#compact}, which keeps the node's trailing entries. A snapshot the
 * leader sends (InstallSnapshot) is read and checked by the state machine on the {@code raft-wal}
 * worker before the store saves it, and installed on the context before the entries after it
 * are applied.
 *
 * <p>Client requests: {@link #propose} completes with the state machine's result once the entry is
 * applied here (so it is durable on a majority), {@link #readBarrier} once this server has applied
 * a confirmed read index. Membership changes and leadership transfer are here for the HTTP API and
 * for autopilot.
 *
 * <p>Threading: every public method may be called from any thread; the work hops onto the context
 * and the returned future completes there. Nothing here blocks the event loop.
 */
public final class RaftRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(RaftRuntime.class);

  /** Sends one encoded Raft message to a peer, best effort; false when the transport refused it. */
  @FunctionalInterface
  public interface Sender {
    boolean send(RaftPeers.Address to, byte[] payload);

    /** A peer moved away from {@code old} (restarted elsewhere): drop its connection and queue. */
    default void forget(RaftPeers.Address old) {}
  }

  private final Context context;
  private final Vertx vertx;
  private final RaftNode node;
  private final String id;
  private final LogStore store;
  private final WorkerExecutor wal;
  private final Sender sender;
  private final RaftPeers peers;
  private final StateMachine stateMachine;
  private final RaftTiming timing;
  private final RaftRuntimeMetrics metrics;
  private final SnapshotPolicy snapshotPolicy;

  // Readies returned by the node and not yet carried out, oldest first.
  private final ArrayDeque<Ready> waiting = new ArrayDeque<>();
  private boolean syncing;
  private List<Ready> inFlight = List.of(); // the batch being synced, empty when none
  // invariant: every entry of this server's log up to here has been forced (see applyDurable)
  private long durableIndex;
  // The newest hard state of a Ready that needed no sync (only the commit moved): written at the
  // start of the next sync's batch, and lost if none comes (the commit index is volatile).
  private HardState unsavedHardState;
  private boolean collectScheduled;
  private Promise<Void> idle; // completed when no sync is in flight (for stop)

  // invariant: applied <= node.commitIndex()
  private long applied;
  private final Map<String, RaftPeers.Address> sentTo = new HashMap<>(); // last address per peer
  // Both in the order they started (so oldest first), swept for timeouts every tick (expireOverdue).
  private final LinkedHashMap<Long, Pending> proposals = new LinkedHashMap<>(); // by log index
  private final LinkedHashMap<Long, PendingRead> reads = new LinkedHashMap<>(); // by request id
  private final PriorityQueue<PendingRead> readsAwaitingApply =
      new PriorityQueue<>((a, b) -> Long.compare(a.index, b.index));
  private final List<Promise<Void>> leaderChangeWaiters = new ArrayList<>();
  private long nextReadId;
  private final Handoff handoff = new Handoff();

  /** A gap between ticks longer than this many tick lengths is a stall (see {@link #onTick}). */
  private static final int STALL_TICKS = 3;

  private long tickTimer = -1;
  private long ticks;
  private long lastTickNanos;
  private long leaseSuspendedUntilTick;
  private boolean started;
  private boolean stopped;
  private boolean storeClosing;
  private String failure = "";

  // A snapshot being written and saved (at most one at a time); after a failed one, none is tried
  // again before the applied index reaches snapshotRetryAt.
  private boolean snapshotting;
  private long snapshotRetryAt;
  /** Data of the entries applied since the last snapshot began (or was installed): its byte trigger. */
  private long appliedBytesSinceSnapshot;

  // What the last observation saw, to log transitions once.
  private Role seenRole;
  private long seenTerm = -1;
  private String seenLeader;
  private long seenConfIndex = -1;

  /** A proposal waiting to be applied. */
  private static final class Pending {
    final long term;
    final long startNanos;
    final String what;
    final Promise<Object> promise = Promise.promise();

    Pending(long term, long startNanos, String what) {
      this.term = term;
      this.startNanos = startNanos;
      this.what = what;
    }
  }

  /** A read waiting for its read index, then for this server to apply up to it. */
  private static final class PendingRead {
    final long requestId;
    final long startNanos;
    final Promise<Long> promise = Promise.promise();
    long index = -1;

    PendingRead(long requestId, long startNanos) {
      this.requestId = requestId;
      this.startNanos = startNanos;
    }
  }

  /**
   * @param context the context that drives the node; every callback runs there
   * @param node a started node (from {@link RaftNode#start} with what {@code store} recovered)
   * @param store the node's durable log; used only from the {@code wal} worker from now on, and
   *     closed by {@link #stop}
   * @param wal an executor with one thread (or ordered execution): syncs must not overlap
   */
  public RaftRuntime(Context context, RaftNode node, LogStore store, WorkerExecutor wal, Sender sender,
      RaftPeers peers, StateMachine stateMachine, RaftTiming timing, MeterRegistry registry) {
    this(context, node, store, wal, sender, peers, stateMachine, timing, SnapshotPolicy.defaults(), registry);
  }

  /**
   * As above, with a snapshot policy; its {@code trailingEntries} belong in the node's
   * {@link io.conclave.consensus.raft.RaftConfig} (here only {@code thresholdEntries} is used). When
   * the node starts from a snapshot, {@code stateMachine} must already be restored from it.
   */
  public RaftRuntime(Context context, RaftNode node, LogStore store, WorkerExecutor wal, Sender sender,
      RaftPeers peers, StateMachine stateMachine, RaftTiming timing, SnapshotPolicy snapshotPolicy,
      MeterRegistry registry) {
    this.context = Objects.requireNonNull(context, "context");
    this.vertx = context.owner();
    this.node = Objects.requireNonNull(node, "node");
    this.id = node.id();
    this.store = Objects.requireNonNull(store, "store");
    this.wal = Objects.requireNonNull(wal, "wal");
    this.sender = Objects.requireNonNull(sender, "sender");
    this.peers = Objects.requireNonNull(peers, "peers");
    this.stateMachine = Objects.requireNonNull(stateMachine, "stateMachine");
    this.timing = Objects.requireNonNull(timing, "timing");
    this.snapshotPolicy = Objects.requireNonNull(snapshotPolicy, "snapshotPolicy");
    this.metrics = new RaftRuntimeMetrics(registry, store);
    this.applied = node.appliedIndex();
    this.durableIndex = store.lastIndex(); // what the store recovered is on disk
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts ticking. A server that is the only voter of its configuration (a {@code --dev} server, a
   * single-server cluster) campaigns at once instead of waiting out an election timeout: nobody
   * else can lead its group.
   */
  public Future<Void> start() {
    return call(() -> {
      check(!started, "RaftRuntime.start called twice");
      started = true;
      LOG.info("raft starting id={} term={} snapshot_index={} last_index={} commit={} {}", id, node.term(),
          node.snapshot() == null ? 0 : node.snapshot().index(), node.lastIndex(), node.commitIndex(),
          node.configuration());
      Configuration conf = node.configuration();
      if (conf.voters().size() == 1 && conf.isVoter(id)) {
        for (int i = 0; i < 2 * timing.electionTimeoutTicks() + 1 && node.role() != Role.LEADER; i++) {
          node.tick();
        }
      }
      lastTickNanos = System.nanoTime();
      scheduleTick();
      collect();
      return Future.succeededFuture();
    });
  }

  /**
   * Stops ticking and taking input, fails what is waiting ({@link RaftRequestException.Kind#STOPPED}),
   * lets an in-flight sync finish, then closes the store. Idempotent.
   */
  public Future<Void> stop() {
    return call(() -> {
      if (storeClosing) {
        return Future.succeededFuture();
      }
      storeClosing = true;
      if (!stopped) {
        halt("stopped");
      }
      // after a storage failure the store is failed but still holds its files and lock: close it too
      Future<Void> drained = syncing ? idle().future() : Future.succeededFuture();
      return drained.compose(v -> wal.executeBlocking(() -> {
        store.close();
        return null;
      }, true)).<Void>mapEmpty().onSuccess(v -> LOG.info("raft stopped id={} term={} commit={}", id,
          node.term(), node.commitIndex()));
    });
  }

  private Promise<Void> idle() {
    if (idle == null) {
      idle = Promise.promise();
    }
    return idle;
  }

  private void halt(String why) {
    stopped = true;
    failure = why;
    if (tickTimer >= 0) {
      vertx.cancelTimer(tickTimer);
      tickTimer = -1;
    }
    waiting.clear();
    RaftRequestException stop = new RaftRequestException(RaftRequestException.Kind.STOPPED, "raft " + why);
    List.copyOf(proposals.values()).forEach(p -> finish(p, null, stop));
    proposals.clear();
    List.copyOf(reads.values()).forEach(r -> finishRead(r, -1, stop));
    reads.clear();
    readsAwaitingApply.clear();
    leaderChangeWaiters.forEach(p -> p.tryFail(stop));
    leaderChangeWaiters.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  /**
   * Ticks are spaced by a one-shot timer re-armed after each tick (fixed delay), not by a periodic
   * timer: Vert.x's periodic timer is fixed-rate, so after a stall (a GC pause, a starved CPU) it
   * fires the missed ticks back to back, and a follower would time out its leader before reading
   * the heartbeats that waited in its socket meanwhile. With fixed delay, time seen by the core
   * slows down under a stall instead, which only makes elections later. Lease reads are the one
   * thing a slow clock could make unsafe, so a stall also suspends them (see {@link #readBarrier}).
   */
  private void scheduleTick() {
    tickTimer = vertx.setTimer(timing.tickMs(), t -> onTick());
  }

  private void onTick() {
    if (stopped) {
      return;
    }
    long now = System.nanoTime();
    ticks++;
    if (now - lastTickNanos > STALL_TICKS * tickNanos()) {
      // this server stalled: its lease (counted in ticks) may have outlived the real one
      leaseSuspendedUntilTick = ticks + timing.electionTimeoutTicks();
    }
    lastTickNanos = now;
    expireOverdue(now);
    node.tick();
    collect();
    if (!stopped) {
      scheduleTick();
    }
  }

  /**
   * Fails the proposals and reads that waited longer than their timeout, oldest first: both maps
   * are in start order, so the walk stops at the first one still in time. Swept each tick instead
   * of a timer per request (a timer set and cancelled for every write was measurable on a loaded
   * leader), so a timeout fires up to one tick late.
   */
  private void expireOverdue(long now) {
    long proposalNanos = timing.proposalTimeout().toNanos();
    for (Iterator<Map.Entry<Long, Pending>> it = proposals.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Long, Pending> e = it.next();
      Pending p = e.getValue();
      if (now - p.startNanos < proposalNanos) {
        break;
      }
      it.remove();
      finish(p, null, new RaftRequestException(RaftRequestException.Kind.TIMEOUT,
          p.what + " at index " + e.getKey() + " not applied within " + timing.proposalTimeout().toMillis() + " ms"));
    }
    long readNanos = timing.readTimeout().toNanos();
    for (Iterator<PendingRead> it = reads.values().iterator(); it.hasNext(); ) {
      PendingRead r = it.next();
      if (now - r.startNanos < readNanos) {
        break;
      }
      it.remove();
      readsAwaitingApply.remove(r);
      finishRead(r, -1, new RaftRequestException(RaftRequestException.Kind.TIMEOUT,
          "no read index within " + timing.readTimeout().toMillis() + " ms"));
    }
  }

  private long tickNanos() {
    return timing.tickMs() * 1_000_000L;
  }

  /** Whether a lease read may be trusted now: no stall seen within the last election timeout. */
  private boolean leaseTrusted() {
    return ticks >= leaseSuspendedUntilTick && System.nanoTime() - lastTickNanos <= STALL_TICKS * tickNanos();
  }

  /** One inbound Raft frame's payload: decoded and stepped; malformed ones are dropped and counted. */
  public void receive(byte[] payload) {
    onContext(() -> {
      if (stopped) {
        metrics.dropped("stopped");
        return;
      }
      MessageCodec.Result r = MessageCodec.decode(payload);
      if (r instanceof MessageCodec.Malformed bad) {
        metrics.dropped("malformed_" + bad.reason());
        LOG.debug("raft frame dropped id={} reason={} detail=\"{}\"", id, bad.reason(), bad.detail());
        return;
      }
      node.step(((MessageCodec.Decoded) r).message());
      scheduleCollect();
    });
  }

  /**
   * Proposes a state machine command. Completes with what {@link StateMachine#apply} returned for
   * it, once it is applied on this server (so it is durable on a majority). Fails with a
   * {@link RaftRequestException}: NOT_LEADER (with the leader's ID and address when known), REJECTED
   * (e.g. a leadership transfer is in progress), LOST (another leader replaced the entry), TIMEOUT
   * (no outcome within {@link RaftTiming#proposalTimeout()}: it may still commit), STOPPED.
   */
  public Future<Object> propose(byte[] command) {
    Objects.requireNonNull(command, "command");
    return call(() -> {
      if (stopped) {
        return Future.failedFuture(stoppedError());
      }
      return track(node.propose(command), "proposal");
    });
  }

  /**
   * A linearizable read barrier (ReadIndex, dissertation §6.4): completes with a read index once
   * this server has applied up to it; a read served from the state machine then reflects every
   * write acknowledged before the call. With {@code lease}, the leader answers from its lease
   * without a heartbeat round (this trusts bounded clock drift, and is not used for an election
   * timeout after this server stalled, e.g. in a GC pause); without, it confirms its
   * leadership with a heartbeat round first. A follower asks its leader. Fails with NOT_LEADER when
   * no leader could confirm it, TIMEOUT after {@link RaftTiming#readTimeout()}, STOPPED.
   */
  public Future<Long> readBarrier(boolean lease) {
    return call(() -> {
      if (stopped) {
        return Future.failedFuture(stoppedError());
      }
      PendingRead r = new PendingRead(++nextReadId, System.nanoTime());
      reads.put(r.requestId, r);
      node.read(r.requestId, lease && leaseTrusted());
      scheduleCollect();
      return r.promise.future();
    });
  }

  /** Leader: adds {@code member} as a learner; completes once that configuration is applied here. */
  public Future<Long> addLearner(String member) {
    return changeConfiguration(ConfChange.addLearner(member));
  }

  /** Leader: makes the learner {@code member} a voter; completes once applied here. */
  public Future<Long> promote(String member) {
    return changeConfiguration(ConfChange.promote(member));
  }

  /** Leader: removes the voter or learner {@code member}; completes once applied here. */
  public Future<Long> remove(String member) {
    return changeConfiguration(ConfChange.remove(member));
  }

  /**
   * Proposes one membership change; completes with the configuration entry's index once it is
   * applied on this server. Fails as {@link #propose} does; REJECTED carries the core's reason
   * (another change not yet committed, the change would leave too few reachable voters, ...).
   */
  public Future<Long> changeConfiguration(ConfChange change) {
    Objects.requireNonNull(change, "change");
    return call(() -> {
      if (stopped) {
        return Future.failedFuture(stoppedError());
      }
      ProposeResult result = node.proposeConfChange(change);
      if (result instanceof ProposeResult.Accepted a) {
        LOG.info("configuration change proposed id={} change={} {} index={} term={}", id,
            change.type(), change.member(), a.index(), a.term());
      }
      return this.<Object>track(result, change.type() + " " + change.member()).map(x -> ((ProposeResult.Accepted) result).index());
    });
  }

  /**
   * Leader: hands leadership to {@code target}, or to the most up-to-date voter when null
   * (dissertation §3.10). Completes when this server has seen another leader take over; fails
   * NOT_LEADER, REJECTED (not a voter, already leader, a transfer in progress, no other voter), or
   * TIMEOUT when nobody took over within a few election timeouts.
   */
  public Future<Void> transferLeadership(String target) {
    return call(() -> {
      if (stopped) {
        return Future.failedFuture(stoppedError());
      }
      ProposeResult result = node.transferLeadership(target);
      if (result instanceof ProposeResult.NotLeader n) {
        return Future.failedFuture(notLeader(n.leaderHint()));
      }
      if (result instanceof ProposeResult.Rejected r) {
        return Future.failedFuture(new RaftRequestException(RaftRequestException.Kind.REJECTED, r.reason()));
      }
      LOG.info("leadership transfer started id={} term={} target={}", id, node.term(),
          node.transferee() == null ? target : node.transferee());
      Promise<Void> done = Promise.promise();
      leaderChangeWaiters.add(done);
      long timeoutMs = 3 * timing.electionTimeout().toMillis() + 500;
      long timer = vertx.setTimer(timeoutMs, t -> {
        leaderChangeWaiters.remove(done);
        done.tryFail(new RaftRequestException(RaftRequestException.Kind.TIMEOUT,
            "leadership did not move within " + timeoutMs + " ms"));
      });
      scheduleCollect();
      return done.future().onComplete(x -> vertx.cancelTimer(timer));
    });
  }

  /** The current picture, taken on the context. */
  public Future<RaftState> state() {
    return call(() -> Future.succeededFuture(stateNow()));
  }

  /**
   * Leader only (empty otherwise): each other member's match index and whether it answered within
   * the last election timeout, for autopilot. Taken on the context.
   */
  public Future<Map<String, Progress>> followerProgress() {
    return call(() -> {
      Map<String, Progress> out = new java.util.TreeMap<>();
      node.followerMatch().forEach((member, match) ->
          out.put(member, new Progress(match, node.isReachable(member))));
      return Future.succeededFuture(out);
    });
  }

  /** A follower's replication progress as the leader sees it. */
  public record Progress(long match, boolean reachable) {}

  /** Raft messages dropped by the runtime for {@code reason} (e.g. "unknown_peer", "malformed_truncated"). */
  public long droppedCount(String reason) {
    return metrics.droppedCount(reason);
  }

  public String id() {
    return id;
  }

  public RaftTiming timing() {
    return timing;
  }

  public RaftPeers peers() {
    return peers;
  }

  // ---------------------------------------------------------------------------------------------
  // Ready pipeline

  private void scheduleCollect() {
    if (collectScheduled) {
      return;
    }
    collectScheduled = true;
    // After the current task: frames that arrived in one read burst are stepped before one ready().
    context.runOnContext(v -> {
      collectScheduled = false;
      collect();
    });
  }

  private void collect() {
    if (stopped) {
      return;
    }
    Ready ready = node.ready();
    observe();
    if (!ready.isEmpty()) {
      for (Message m : ready.sendBeforeSync()) {
        send(m); // waits for no sync: neither this Ready's nor the one in flight
      }
      waiting.addLast(ready);
      pump();
      applyDurable();
    }
  }

  /**
   * Applies, in log order, the committed entries of Readies not yet carried out whose index this
   * server has already forced, without waiting for the sync those Readies may still need (for
   * their own new entries or hard state). Without this, a leader's commit (a follower's ack) that
   * arrives while a sync is in flight waits for that sync and then for the next one, which it joins
   * because the same Ready usually carries newly proposed entries: two forces in every write's
   * latency that protect nothing it depends on.
   *
   * <p>Safe: a committed entry is on a majority's disks. The leader sends AppendEntries before its
   * own sync, so a follower may ack an entry the leader has not forced; but a follower acks only
   * after its own sync, and the leader counts its own log towards the majority only up to what
   * {@link RaftNode#persisted} reported after a sync here, so every vote in the majority is a disk.
   * A sole voter commits only after that report, too. And {@code index <= durableIndex} still gates
   * the apply, so an entry applied here (a proposal answered here) is also forced here, whatever the
   * leader counted. Order holds: the walk goes oldest Ready first and stops at the first committed
   * entry that is not next or not yet durable; messages (but {@code sendBeforeSync}, sent on
   * arrival), snapshots and reads still wait for their Ready's sync. Committed entries are never truncated, so a durable index
   * that includes entries a conflicting append later replaced still covers every committed one.
   */
  private void applyDurable() {
    if (stopped) {
      return;
    }
    boolean progressed = false;
    outer:
    for (List<Ready> readies : List.of(inFlight, List.copyOf(waiting))) {
      for (Ready r : readies) {
        if (r.snapshot() != null) {
          break outer; // a snapshot moves applied itself; leave it to carryOut
        }
        for (Entry e : r.committed()) {
          if (e.index() <= applied) {
            continue; // applied by an earlier walk
          }
          if (e.index() != applied + 1 || e.index() > durableIndex) {
            break outer;
          }
          apply(e);
          progressed = true;
        }
      }
    }
    if (progressed) {
      releaseReads();
    }
  }

  /** Starts the next sync or carries out what needs none; runs until a sync is in flight or nothing waits. */
  private void pump() {
    while (!syncing && !waiting.isEmpty() && !stopped) {
      List<Ready> batch = new ArrayList<>(waiting);
      waiting.clear();
      if (batch.stream().noneMatch(Ready::mustSync)) {
        for (Ready r : batch) {
          if (r.hardState() != null) {
            unsavedHardState = r.hardState(); // commit-only: goes out with the next sync
          }
        }
        carryOut(batch);
        continue;
      }
      syncing = true;
      inFlight = batch;
      HardState carried = unsavedHardState;
      unsavedHardState = null;
      wal.<Persisted>executeBlocking(() -> persist(carried, batch), true).onComplete(ar -> onContext(() -> {
        syncing = false;
        inFlight = List.of();
        if (ar.failed() && ar.cause() instanceof SnapshotRestoreException bad) {
          LOG.error("snapshot from the leader not installed id={} term={}: Raft stops here error=\"{}\"",
              id, node.term(), bad.getMessage());
          halt(bad.getMessage());
        } else if (ar.failed()) {
          storageFailed(ar.cause());
        } else {
          metrics.synced(ar.result().syncNanos(), batch.size());
          if (!stopped) {
            reportSynced(carried, batch);
            carryOut(batch, ar.result().restores());
            scheduleCollect(); // the report may have committed: hand the commit out
          }
        }
        if (!syncing && idle != null) {
          idle.tryComplete();
        }
        pump();
        applyDurable();
      }));
    }
  }

  /**
   * Tells the node what the sync forced: the batch's last entry (or snapshot, when no entry followed
   * it) and its last hard state. Moves {@link #durableIndex} along.
   */
  private void reportSynced(HardState carried, List<Ready> batch) {
    long index = -1;
    long term = -1;
    HardState hardState = carried;
    for (Ready r : batch) {
      if (r.snapshot() != null) {
        index = r.snapshot().index();
        term = r.snapshot().term();
      }
      if (!r.entries().isEmpty()) {
        Entry last = r.entries().get(r.entries().size() - 1); // the log's end now
        index = last.index();
        term = last.term();
      }
      if (r.hardState() != null) {
        hardState = r.hardState();
      }
    }
    if (index >= 0) {
      durableIndex = index;
      node.persisted(index, term);
    }
    if (hardState != null) {
      node.persistedHardState(hardState);
    }
  }

  /** What a persisted batch hands back to the context: the sync's time, and the snapshots to install. */
  private record Persisted(long syncNanos, Map<Ready, StateMachine.Restore> restores) {}

  /** A snapshot from the leader that the state machine cannot read: a bug or a version mismatch. */
  private static final class SnapshotRestoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SnapshotRestoreException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * On the wal worker: writes the batch in order (after {@code carried}, a commit-only hard state
   * that waited for a sync) and forces it once. A snapshot from the leader is first read by the state
   * machine (so one it cannot read is never saved), then saved.
   */
  private Persisted persist(HardState carried, List<Ready> batch) throws IOException {
    Map<Ready, StateMachine.Restore> restores = new IdentityHashMap<>();
    if (carried != null) {
      store.saveHardState(carried); // older than the batch's own, so first
    }
    for (Ready r : batch) {
      if (r.snapshot() != null) {
        restores.put(r, prepareRestore(r.snapshot()));
        store.saveSnapshot(r.snapshot());
      }
      if (!r.entries().isEmpty()) {
        store.append(r.entries());
      }
      if (r.hardState() != null) {
        store.saveHardState(r.hardState());
      }
    }
    long start = System.nanoTime();
    store.sync();
    return new Persisted(System.nanoTime() - start, restores);
  }

  /** On the wal worker: reads a leader's snapshot into a state not yet in force. */
  private StateMachine.Restore prepareRestore(Snapshot s) {
    if (!stateMachine.snapshots()) {
      throw new SnapshotRestoreException("snapshot at index " + s.index() + " from the leader, but the state machine "
          + stateMachine.getClass().getName() + " cannot restore snapshots");
    }
    try {
      return stateMachine.prepareRestore(new ByteArrayInputStream(s.data()));
    } catch (IOException | RuntimeException e) {
      throw new SnapshotRestoreException("snapshot at index " + s.index() + " term " + s.term()
          + " from the leader does not restore: " + e.getMessage());
    }
  }

  private void storageFailed(Throwable e) {
    LOG.error("raft storage failed id={} term={}: Raft stops here; restart the server to recover from disk error=\"{}\"",
        id, node.term(), e.toString());
    halt("storage failed: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
  }

  /** Back on the context, after the batch is durable: send, install a snapshot, apply, serve reads. */
  private void carryOut(List<Ready> batch) {
    carryOut(batch, Map.of());
  }

  private void carryOut(List<Ready> batch, Map<Ready, StateMachine.Restore> restores) {
    for (Ready r : batch) {
      for (Message m : r.messages()) {
        send(m);
      }
      if (r.snapshot() != null) {
        installSnapshot(r.snapshot(), restores.get(r));
      }
      for (Entry e : r.committed()) {
        if (e.index() > applied) { // else applied early by applyDurable
          apply(e);
        }
      }
      for (ReadState rs : r.reads()) {
        readIndexKnown(rs);
      }
    }
    releaseReads();
    maybeSnapshot();
    publishMetrics();
  }

  /**
   * A snapshot from the leader, durable now: its state replaces the state machine's, and the entries
   * after it are applied next. Blocking queries wake and re-read (the KV store's restore wakes all).
   * Proposals of this server at or below its index are left to time out: whether they committed is
   * not known here.
   */
  private void installSnapshot(Snapshot s, StateMachine.Restore restore) {
    check(restore != null, "snapshot at %d carried out without being read", s.index());
    check(s.index() > applied, "snapshot at %d from the leader but %d is applied here", s.index(), applied);
    long start = System.nanoTime();
    restore.install();
    applied = s.index();
    appliedBytesSinceSnapshot = 0;
    long nanos = System.nanoTime() - start;
    metrics.snapshotInstalled(nanos);
    LOG.info("snapshot installed id={} index={} term={} bytes={} leader={}", id, s.index(), s.term(),
        s.data().length, node.leader());
  }

  // ---------------------------------------------------------------------------------------------
  // Taking snapshots

  /**
   * Takes a snapshot when the applied index is {@code thresholdEntries} past the last one: captures
   * the state machine here on the context (consistent at {@code applied}), writes it on a worker,
   * then saves, forces and compacts the store on the wal worker, and only then compacts the node.
   */
  private void maybeSnapshot() {
    if (snapshotting || stopped || storeClosing || !snapshotPolicy.enabled() || !stateMachine.snapshots()) {
      return;
    }
    Snapshot last = node.snapshot();
    long lastIndex = last == null ? 0 : last.index();
    boolean due = applied - lastIndex >= snapshotPolicy.thresholdEntries()
        || appliedBytesSinceSnapshot >= snapshotPolicy.thresholdBytes();
    if (!due || applied <= lastIndex || applied < snapshotRetryAt) {
      return;
    }
    long index = applied;
    long term = node.termAt(index);
    check(term > 0, "no term for applied index %d (log starts after %d)", index, node.firstIndex() - 1);
    Configuration conf = node.configurationAt(index);
    long startNanos = System.nanoTime();
    StateMachine.Capture capture;
    try {
      capture = stateMachine.snapshot();
    } catch (RuntimeException e) {
      snapshotFailed(index, e);
      return;
    }
    snapshotting = true;
    appliedBytesSinceSnapshot = 0; // what is applied from here on counts towards the next one
    vertx.<byte[]>executeBlocking(() -> {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      capture.writeTo(out);
      return out.toByteArray();
    }, false).onComplete(written -> onContext(() -> {
      if (written.failed()) {
        snapshotting = false;
        snapshotFailed(index, written.cause());
        return;
      }
      if (storeClosing) {
        snapshotting = false;
        return;
      }
      Snapshot s = new Snapshot(index, term, conf, written.result());
      wal.<Void>executeBlocking(() -> {
        store.saveSnapshot(s); // ignored when a newer one from the leader got there first
        store.sync();
        store.compact(index);
        return null;
      }, true).onComplete(saved -> onContext(() -> {
        snapshotting = false;
        if (saved.failed()) {
          storageFailed(saved.cause());
        } else if (!stopped) {
          snapshotSaved(s, startNanos);
        }
      }));
    }));
  }

  private void snapshotSaved(Snapshot s, long startNanos) {
    node.compact(s.index(), s.data());
    Snapshot held = node.snapshot();
    if (held == null || held.index() != s.index() || held.data() != s.data()) {
      LOG.debug("snapshot superseded id={} index={} by index={}", id, s.index(), held == null ? 0 : held.index());
      return;
    }
    long nanos = System.nanoTime() - startNanos;
    metrics.snapshotTaken(nanos);
    LOG.info("snapshot taken id={} index={} term={} bytes={} first_index={} duration_ms={}", id, s.index(), s.term(),
        s.data().length, node.firstIndex(), nanos / 1_000_000);
    publishMetrics();
    maybeSnapshot(); // applies went on meanwhile: maybe far enough for the next one
  }

  private void snapshotFailed(long index, Throwable e) {
    snapshotRetryAt = index + snapshotPolicy.thresholdEntries();
    metrics.snapshotFailed();
    LOG.error("snapshot failed id={} index={}: the log keeps growing; next try at index {} error=\"{}\"", id, index,
        snapshotRetryAt, e.toString());
  }

  private void send(Message m) {
    RaftPeers.Address to = peers.address(m.to()).orElse(null);
    if (to == null) {
      metrics.dropped("unknown_peer");
      LOG.debug("raft message dropped id={} reason=unknown_peer to={} type={}", id, m.to(), m.getClass().getSimpleName());
      return;
    }
    RaftPeers.Address previous = sentTo.put(m.to(), to);
    if (previous != null && !previous.equals(to)) {
      LOG.info("peer address changed id={} peer={} from={} to={}", id, m.to(), previous, to);
      sender.forget(previous);
    }
    if (!sender.send(to, MessageCodec.encode(m))) {
      metrics.dropped("oversize");
    }
  }

  private void apply(Entry e) {
    check(e.index() == applied + 1, "applying index %d after %d (gap in committed entries)", e.index(), applied);
    applied = e.index();
    appliedBytesSinceSnapshot += e.data().length;
    Object result = null;
    RuntimeException error = null;
    if (e.type() == EntryType.COMMAND) {
      try {
        result = stateMachine.apply(e.index(), e.data());
      } catch (RuntimeException ex) {
        LOG.error("state machine failed id={} index={} error=\"{}\"", id, e.index(), ex.toString(), ex);
        error = ex;
      }
    } else if (e.type() == EntryType.CONFIG) {
      LOG.info("configuration committed id={} index={} {}", id, e.index(), Configuration.decode(e.data()));
    }
    Pending p = proposals.remove(e.index());
    if (p == null) {
      return;
    }
    if (p.term != e.term()) {
      finish(p, null, new RaftRequestException(RaftRequestException.Kind.LOST,
          "entry " + e.index() + " of term " + p.term + " was replaced by a leader of term " + e.term()));
    } else {
      metrics.committed(p.startNanos, System.nanoTime());
      finish(p, result, error);
    }
  }

  private void readIndexKnown(ReadState rs) {
    PendingRead r = reads.get(rs.requestId());
    if (r == null) {
      return; // timed out meanwhile
    }
    if (!rs.ok()) {
      reads.remove(rs.requestId());
      finishRead(r, -1, notLeader(node.leader()));
      return;
    }
    r.index = rs.index();
    readsAwaitingApply.add(r);
  }

  private void releaseReads() {
    while (!readsAwaitingApply.isEmpty() && readsAwaitingApply.peek().index <= applied) {
      PendingRead r = readsAwaitingApply.poll();
      reads.remove(r.requestId);
      finishRead(r, r.index, null);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Turns a propose result into a future completed when its entry is applied. */
  private <T> Future<T> track(ProposeResult result, String what) {
    if (result instanceof ProposeResult.NotLeader n) {
      metrics.proposalNotLeader();
      return Future.failedFuture(notLeader(n.leaderHint()));
    }
    if (result instanceof ProposeResult.Rejected r) {
      metrics.proposalRejected();
      return Future.failedFuture(new RaftRequestException(RaftRequestException.Kind.REJECTED, r.reason()));
    }
    ProposeResult.Accepted a = (ProposeResult.Accepted) result;
    metrics.proposalAccepted();
    Pending p = new Pending(a.term(), System.nanoTime(), what);
    Pending previous = proposals.remove(a.index()); // then put: the newest goes last (start order)
    proposals.put(a.index(), p);
    if (previous != null) {
      // the index was proposed before in an older term and never applied: that entry is gone
      finish(previous, null, new RaftRequestException(RaftRequestException.Kind.LOST,
          "entry " + a.index() + " of term " + previous.term + " was replaced"));
    }
    scheduleCollect();
    @SuppressWarnings("unchecked")
    Future<T> future = (Future<T>) p.promise.future();
    return future;
  }

  private void finish(Pending p, Object result, Throwable error) {
    if (error != null) {
      p.promise.tryFail(error);
    } else {
      p.promise.tryComplete(result);
    }
  }

  private void finishRead(PendingRead r, long index, Throwable error) {
    if (error != null) {
      r.promise.tryFail(error);
    } else {
      r.promise.tryComplete(index);
    }
  }

  private RaftRequestException notLeader(String leaderHint) {
    String leader = leaderHint == null ? "" : leaderHint;
    String address = peers.addressText(leaderHint);
    String message = leader.isEmpty() ? "no leader known" : "not the leader; the leader is " + leader
        + (address.isEmpty() ? "" : " at " + address);
    return new RaftRequestException(RaftRequestException.Kind.NOT_LEADER, message, leader, address);
  }

  private RaftRequestException stoppedError() {
    return new RaftRequestException(RaftRequestException.Kind.STOPPED, "raft " + failure);
  }

  /** Logs role, leader and configuration transitions once each, and wakes transfer waiters. */
  private void observe() {
    Role role = node.role();
    long term = node.term();
    String leader = node.leader();
    if (role != seenRole || (role != Role.FOLLOWER && term != seenTerm)) {
      switch (role) {
        case LEADER -> LOG.info("became leader id={} term={} last_index={}", id, term, node.lastIndex());
        case CANDIDATE -> LOG.info("became candidate id={} term={}", id, term);
        case PRE_CANDIDATE -> LOG.debug("pre-vote started id={} term={}", id, term);
        case FOLLOWER -> LOG.info("became follower id={} term={} leader={}", id, term, leader == null ? "none" : leader);
      }
    } else if (role == Role.FOLLOWER && leader != null && !leader.equals(seenLeader)) {
      LOG.info("following leader id={} term={} leader={}", id, term, leader);
    }
    if (leader != null && !leader.equals(seenLeader)) {
      metrics.leaderChanged();
    }
    if (!Objects.equals(leader, seenLeader) && !leaderChangeWaiters.isEmpty() && leader != null && !leader.equals(id)) {
      leaderChangeWaiters.forEach(p -> p.tryComplete());
      leaderChangeWaiters.clear();
    }
    if (node.configurationIndex() != seenConfIndex) {
      if (seenConfIndex >= 0 || node.configurationIndex() > 0) {
        LOG.info("configuration id={} index={} {}", id, node.configurationIndex(), node.configuration());
      }
      seenConfIndex = node.configurationIndex();
    }
    seenRole = role;
    seenTerm = term;
    seenLeader = leader;
  }

  private void publishMetrics() {
    metrics.publish(node.metrics(), node.term(), node.commitIndex(), applied, node.lastIndex(), node.role() == Role.LEADER,
        node.snapshot() == null ? 0 : node.snapshot().index(), node.firstIndex());
  }

  private RaftState stateNow() {
    String leader = node.leader() == null || !failure.isEmpty() ? "" : node.leader();
    long lastContactMs = node.role() == Role.LEADER ? 0 : (long) node.ticksSinceLeaderContact() * timing.tickMs();
    return new RaftState(id, node.role(), node.term(), leader, peers.addressText(leader.isEmpty() ? null : leader),
        node.commitIndex(), applied, node.lastIndex(), node.configuration(), node.configurationIndex(),
        lastContactMs, failure, node.snapshot() == null ? 0 : node.snapshot().index(), node.firstIndex());
  }

  /**
   * Runs {@code action} on the context and returns its future (completed on the context). Calls
   * from another event loop are handed over in batches ({@link Handoff}): the requests one HTTP read
   * burst brings wake this loop once, not once each. A call from another context on this context's
   * own loop runs at once.
   */
  private <T> Future<T> call(Supplier<Future<T>> action) {
    if (Vertx.currentContext() == context) {
      return runGuarded(action);
    }
    Promise<T> promise = Promise.promise();
    ContextInternal raft = (ContextInternal) context;
    if (raft.nettyEventLoop().inEventLoop()) {
      // another context on this loop (HTTP served on the daemon's loop): run now, as this context
      raft.dispatch(() -> runGuarded(action).onComplete(promise));
    } else {
      handoff.run(context, () -> runGuarded(action).onComplete(promise));
    }
    return promise.future();
  }

  private static <T> Future<T> runGuarded(Supplier<Future<T>> action) {
    try {
      return action.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  static void check(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new IllegalStateException(String.format(fmt, args));
    }
  }
}
