package io.conclave.daemon.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.log.MemoryLogStore;
import io.conclave.consensus.message.AppendEntriesResponse;
import io.conclave.consensus.message.MessageCodec;
import io.conclave.consensus.raft.RaftConfig;
import io.conclave.consensus.raft.RaftNode;
import io.conclave.daemon.testing.Futures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One {@link RaftRuntime} (a sole voter) over a log store the test controls: a proposal is not
 * acknowledged before its sync returns, proposals made while a sync is in flight share the next
 * one (group commit), a storage failure stops Raft on this server, and a snapshot reaches the core
 * only once the store saved, synced and compacted it.
 */
class RaftRuntimeTest {
  final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    Futures.await(vertx.close());
  }

  /** A MemoryLogStore whose sync can be held by the test and made to fail. */
  static final class ControlledStore implements LogStore {
    final MemoryLogStore inner = new MemoryLogStore();
    final AtomicBoolean hold = new AtomicBoolean();
    final Semaphore entered = new Semaphore(0);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicBoolean fail = new AtomicBoolean();
    final AtomicInteger syncs = new AtomicInteger();
    final List<Integer> entriesPerSync = new ArrayList<>();
    int pendingEntries;

    @Override
    public Recovered recovered() {
      return inner.recovered();
    }

    @Override
    public void append(List<Entry> entries) {
      pendingEntries += entries.size();
      inner.append(entries);
    }

    @Override
    public void saveHardState(HardState state) {
      inner.saveHardState(state);
    }

    @Override
    public void sync() {
      if (hold.get()) {
        entered.release();
        try {
          release.await(10, TimeUnit.SECONDS); // the wal worker's thread, never the event loop
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (fail.get()) {
        throw new UncheckedIOException(new IOException("No space left on device"));
      }
      synchronized (entriesPerSync) {
        entriesPerSync.add(pendingEntries);
      }
      pendingEntries = 0;
      syncs.incrementAndGet();
      inner.sync();
    }

    @Override
    public long lastIndex() {
      return inner.lastIndex();
    }

    @Override
    public void close() {}
  }

  RaftRuntime start(ControlledStore store, List<Long> applied) {
    return start(store, applied, RaftTiming.lan());
  }

  RaftRuntime start(ControlledStore store, List<Long> applied, RaftTiming timing) {
    RaftNode node = RaftNode.start(RaftConfig.of("s1", Set.of("s1")).withTimeouts(10, 2), store.recovered(),
        new SplittableRandom(7));
    WorkerExecutor wal = vertx.createSharedWorkerExecutor("raft-wal", 1);
    StateMachine sm = (index, command) -> {
      applied.add(index);
      return index;
    };
    RaftRuntime raft = new RaftRuntime(vertx.getOrCreateContext(), node, store, wal, (to, payload) -> true,
        new RaftPeers(), sm, timing, new SimpleMeterRegistry());
    Futures.await(raft.start());
    await().atMost(Duration.ofSeconds(10)).until(() -> Futures.await(raft.state()).isLeader()
        && Futures.await(raft.state()).appliedIndex() == 2);
    return raft;
  }

  @Test
  void aProposalIsAcknowledgedOnlyAfterItsSyncAndLaterOnesShareTheNextSync() throws Exception {
    ControlledStore store = new ControlledStore();
    List<Long> applied = new java.util.concurrent.CopyOnWriteArrayList<>();
    RaftRuntime raft = start(store, applied);
    store.hold.set(true);
    Future<Object> first = raft.propose(new byte[] {1});
    assertThat(store.entered.tryAcquire(10, TimeUnit.SECONDS)).as("the first sync started").isTrue();
    List<Future<Object>> later = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      later.add(raft.propose(new byte[] {2}));
    }
    // make sure the ten proposals reached the node while the sync is still held
    Futures.await(raft.state());
    assertThat(first.isComplete()).as("not acknowledged while its sync is in flight").isFalse();
    assertThat(later).noneMatch(Future::isComplete);
    int syncsBefore = store.syncs.get();
    store.hold.set(false);
    store.release.countDown();
    assertThat(Futures.await(first)).isEqualTo(3L);
    for (int i = 0; i < later.size(); i++) {
      assertThat(Futures.await(later.get(i))).isEqualTo(4L + i);
    }
    assertThat(store.syncs.get() - syncsBefore).as("held sync + one group commit").isEqualTo(2);
    synchronized (store.entriesPerSync) {
      assertThat(store.entriesPerSync.get(store.entriesPerSync.size() - 1)).isEqualTo(10);
    }
    assertThat(applied).endsWith(3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L);
  }

  @Test
  void aProposalNotAppliedWithinItsTimeoutFailsWithTimeoutOnceAndTheLaterOnesStillComplete() throws Exception {
    ControlledStore store = new ControlledStore();
    List<Long> applied = new java.util.concurrent.CopyOnWriteArrayList<>();
    RaftTiming timing = new RaftTiming(10, 10, 2, Duration.ofMillis(300), Duration.ofSeconds(5));
    RaftRuntime raft = start(store, applied, timing);
    store.hold.set(true);
    long start = System.nanoTime();
    Future<Object> stuck = raft.propose(new byte[] {1});
    assertThat(store.entered.tryAcquire(10, TimeUnit.SECONDS)).as("its sync started").isTrue();
    Future<Object> young = raft.propose(new byte[] {2});
    Throwable failure = Futures.awaitFailure(stuck);
    long waitedMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(failure).isInstanceOf(RaftRequestException.class).hasMessageContaining("not applied within 300 ms");
    assertThat(((RaftRequestException) failure).kind()).isEqualTo(RaftRequestException.Kind.TIMEOUT);
    assertThat(waitedMs).as("not before its timeout").isGreaterThanOrEqualTo(300);
    store.hold.set(false);
    store.release.countDown();
    // the second one also timed out or was applied: either way it completed exactly once
    await().atMost(Duration.ofSeconds(10)).until(young::isComplete);
    Future<Object> after = raft.propose(new byte[] {3});
    assertThat(Futures.await(after)).isInstanceOf(Long.class);
    assertThat(applied).contains(3L);
    Futures.await(raft.stop());
  }

  @Test
  void aStorageFailureStopsRaftAndFailsWhatWaits() {
    ControlledStore store = new ControlledStore();
    RaftRuntime raft = start(store, new ArrayList<>());
    store.fail.set(true);
    Throwable failure = Futures.awaitFailure(raft.propose(new byte[] {1}));
    assertThat(failure).isInstanceOf(RaftRequestException.class);
    assertThat(((RaftRequestException) failure).kind()).isEqualTo(RaftRequestException.Kind.STOPPED);
    RaftState state = Futures.await(raft.state());
    assertThat(state.failure()).startsWith("storage failed").contains("No space left on device");
    assertThat(state.isLeader()).isFalse();
    RaftRequestException next = (RaftRequestException) Futures.awaitFailure(raft.propose(new byte[] {2}));
    assertThat(next.kind()).isEqualTo(RaftRequestException.Kind.STOPPED);
    Futures.await(raft.stop());
  }

  /** A MemoryLogStore that records the order of snapshot saves, syncs and compactions. */
  static final class RecordingStore implements LogStore {
    final MemoryLogStore inner = new MemoryLogStore();
    final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public Recovered recovered() {
      return inner.recovered();
    }

    @Override
    public void append(List<Entry> entries) {
      inner.append(entries);
    }

    @Override
    public void saveHardState(HardState state) {
      inner.saveHardState(state);
    }

    @Override
    public void saveSnapshot(io.conclave.consensus.raft.Snapshot snapshot) {
      events.add("save " + snapshot.index());
      inner.saveSnapshot(snapshot);
    }

    @Override
    public void compact(long index) {
      events.add("compact " + index);
      inner.compact(index);
    }

    @Override
    public void sync() {
      events.add("sync");
      inner.sync();
    }

    @Override
    public long lastIndex() {
      return inner.lastIndex();
    }

    @Override
    public void close() {}
  }

  @Test
  void aSnapshotReachesTheCoreOnlyAfterTheStoreSavedAndSyncedIt() {
    // Threshold 10: the core's snapshot index may move only once the store saw save, sync, compact
    // for that index, in that order (a snapshot counts once it is durable).
    RecordingStore store = new RecordingStore();
    RaftNode node = RaftNode.start(RaftConfig.of("s1", Set.of("s1")).withTimeouts(10, 2).withSnapshots(512 * 1024, 3),
        store.recovered(), new SplittableRandom(7));
    io.conclave.daemon.kv.KvStateMachine kv = new io.conclave.daemon.kv.KvStateMachine();
    RaftRuntime raft = new RaftRuntime(vertx.getOrCreateContext(), node, store,
        vertx.createSharedWorkerExecutor("raft-wal", 1), (to, payload) -> true, new RaftPeers(),
        io.conclave.daemon.kv.RaftKvBackend.stateMachine(kv), RaftTiming.lan(), new SnapshotPolicy(10, 3),
        new SimpleMeterRegistry());
    Futures.await(raft.start());
    await().atMost(Duration.ofSeconds(10)).until(() -> Futures.await(raft.state()).isLeader());
    for (int i = 0; i < 45; i++) {
      byte[] command = io.conclave.daemon.kv.KvCodec.encode(io.conclave.daemon.kv.KvRequest.of(
          new io.conclave.daemon.kv.KvCommand.Set("k" + i, new byte[] {(byte) i}, 0)));
      Futures.await(raft.propose(command));
      RaftState st = Futures.await(raft.state());
      if (st.snapshotIndex() > 0) {
        List<String> events;
        synchronized (store.events) {
          events = List.copyOf(store.events);
        }
        int save = events.lastIndexOf("save " + st.snapshotIndex());
        assertThat(save).as("saved before the core has it: %s", events).isGreaterThanOrEqualTo(0);
        assertThat(events.subList(save, events.size())).as("then synced and compacted: %s", events)
            .containsSubsequence("save " + st.snapshotIndex(), "sync", "compact " + st.snapshotIndex());
        assertThat(st.firstIndex()).isEqualTo(st.snapshotIndex() - 3 + 1);
      }
    }
    // 47 entries applied (configuration, no-op, 45 commands). At rest the policy leaves fewer than
    // 10 applied entries after the last snapshot, so it is at 38 at least; where exactly depends on
    // when each snapshot started (one in flight delays the next), so 40 is not promised.
    await().atMost(Duration.ofSeconds(10)).until(() -> Futures.await(raft.state()).snapshotIndex() >= 47 - 10 + 1);
    RaftState end = Futures.await(raft.state());
    assertThat(store.inner.recovered().snapshot().index()).isEqualTo(end.snapshotIndex());
    assertThat(store.inner.recovered().firstIndex()).isEqualTo(end.snapshotIndex() + 1);
    Futures.await(raft.stop());
  }

  /**
   * Three runtimes wired by an in-memory sender. A leader's entry A is durable on it and on the
   * followers, whose acks (only those) the test holds back; then a sync for entry B starts on the leader and is
   * held. Releasing the acks commits A: A is applied and its proposal answered while B's sync is
   * still held (A is already forced on the leader, see RaftRuntime#applyDurable), and B only after
   * its own sync returns and a follower acked it.
   */
  @Test
  void aCommittedEntryAlreadyForcedIsAppliedWithoutWaitingForAnotherSync() throws Exception {
    List<String> ids = List.of("s1", "s2", "s3");
    RaftTiming timing = new RaftTiming(20, 20, 2, Duration.ofSeconds(10), Duration.ofSeconds(10));
    java.util.Map<Integer, RaftRuntime> byPort = new java.util.concurrent.ConcurrentHashMap<>();
    java.util.Map<String, ControlledStore> stores = new java.util.HashMap<>();
    java.util.Map<String, List<Long>> appliedBy = new java.util.HashMap<>();
    java.util.concurrent.atomic.AtomicInteger gatedPort = new java.util.concurrent.atomic.AtomicInteger(-1);
    List<Runnable> gated = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<RaftRuntime> runtimes = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      ControlledStore store = new ControlledStore();
      stores.put(id, store);
      RaftPeers peers = new RaftPeers();
      for (int j = 0; j < ids.size(); j++) {
        peers.put(ids.get(j), "127.0.0.1", j + 1);
      }
      List<Long> applied = new java.util.concurrent.CopyOnWriteArrayList<>();
      appliedBy.put(id, applied);
      RaftNode node = RaftNode.start(RaftConfig.of(id, Set.copyOf(ids)).withTimeouts(20, 2), store.recovered(),
          new SplittableRandom(11 + i));
      RaftRuntime.Sender sender = (to, payload) -> {
        Runnable deliver = () -> byPort.get(to.port()).receive(payload);
        // only acknowledgements are held: heartbeats and their answers still flow, so the leader
        // keeps its quorum however long a loaded machine takes to get to B
        boolean ack = MessageCodec.decode(payload) instanceof MessageCodec.Decoded d
            && d.message() instanceof AppendEntriesResponse;
        if (ack && to.port() == gatedPort.get()) {
          gated.add(deliver);
        } else {
          deliver.run();
        }
        return true;
      };
      RaftRuntime raft = new RaftRuntime(vertx.getOrCreateContext(), node, store,
          vertx.createSharedWorkerExecutor("raft-wal-" + id, 1), sender, peers,
          (index, command) -> {
            applied.add(index);
            return index;
          }, timing, new SimpleMeterRegistry());
      byPort.put(i + 1, raft);
      runtimes.add(raft);
    }
    for (RaftRuntime r : runtimes) {
      Futures.await(r.start());
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> runtimes.stream().anyMatch(r -> Futures.await(r.state()).isLeader()));
    RaftRuntime leader = runtimes.stream().filter(r -> Futures.await(r.state()).isLeader()).findFirst().orElseThrow();
    ControlledStore leaderStore = stores.get(leader.id());
    Futures.await(leader.propose(new byte[] {0})); // the group works; the leader's no-op is applied too

    gatedPort.set(ids.indexOf(leader.id()) + 1); // hold every acknowledgement to the leader from now on
    Future<Object> a = leader.propose(new byte[] {1});
    long aIndex = Futures.await(leader.state()).lastIndex();
    // both followers have A and have acknowledged it (the acks are held)
    await().atMost(Duration.ofSeconds(5)).until(() -> runtimes.stream().filter(r -> r != leader)
        .allMatch(r -> Futures.await(r.state()).lastIndex() >= aIndex) && gated.size() >= 2);
    leaderStore.hold.set(true);
    Future<Object> b = leader.propose(new byte[] {2});
    assertThat(leaderStore.entered.tryAcquire(10, TimeUnit.SECONDS)).as("B's sync started and is held").isTrue();
    assertThat(a.isComplete()).as("A is not committed while the acks are held").isFalse();

    gatedPort.set(-1);
    gated.forEach(Runnable::run);
    assertThat(Futures.await(a)).as("A answered while B's sync is held").isEqualTo(aIndex);
    assertThat(appliedBy.get(leader.id())).contains(aIndex).doesNotContain(aIndex + 1);
    assertThat(b.isComplete()).isFalse();

    leaderStore.hold.set(false);
    leaderStore.release.countDown();
    assertThat(Futures.await(b)).isEqualTo(aIndex + 1);
    assertThat(appliedBy.get(leader.id())).containsSubsequence(aIndex, aIndex + 1);
    for (RaftRuntime r : runtimes) {
      Futures.await(r.stop());
    }
  }
}
