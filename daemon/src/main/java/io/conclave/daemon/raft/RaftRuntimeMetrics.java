package io.conclave.daemon.raft;

import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.log.SegmentedLogStore;
import io.conclave.consensus.raft.RaftMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

/**
 * The Micrometer side of a {@link RaftRuntime} (Prometheus names in daemon/README.md). The core's
 * {@link RaftMetrics} are plain fields written on the runtime's context; the runtime copies the ones
 * exported here into {@link #publish} after every batch, and the meters read those copies, so a
 * scrape on another thread never reads the core.
 */
final class RaftRuntimeMetrics {
  private final MeterRegistry registry;
  private final Map<String, Counter> dropped = new ConcurrentHashMap<>();
  private final Counter leaderChanges;
  private final Counter proposalsAccepted;
  private final Counter proposalsNotLeader;
  private final Counter proposalsRejected;
  private final Timer commitLatency;
  private final Timer fsync;
  private final DistributionSummary batchReadies;
  private final Counter snapshotsTaken;
  private final Counter snapshotsInstalled;
  private final Counter snapshotsFailed;
  private final Timer snapshotTake;
  private final Timer snapshotInstall;
  private volatile Published published = new Published(new long[COUNTERS.length], 0, 0, 0, 0, 0, 0, 1);

  /** The core counters exported, with their meter names. */
  private static final String[] COUNTERS = {
    "conclave.raft.elections", "conclave.raft.pre_votes", "conclave.raft.leaderships",
    "conclave.raft.leader.step_downs", "conclave.raft.check_quorum.step_downs",
    "conclave.raft.votes.ignored_in_lease", "conclave.raft.append.sent", "conclave.raft.append.rejected",
    "conclave.raft.configuration.changes", "conclave.raft.transfers", "conclave.raft.reads.read_index",
    "conclave.raft.reads.lease", "conclave.raft.reads.failed", "conclave.raft.core.dropped"};

  private record Published(long[] counters, long term, long commit, long applied, long lastIndex, int leader,
      long snapshotIndex, long firstIndex) {}

  RaftRuntimeMetrics(MeterRegistry registry, LogStore store) {
    this.registry = registry;
    for (int i = 0; i < COUNTERS.length; i++) {
      int slot = i;
      FunctionCounter.builder(COUNTERS[i], this, m -> m.published.counters[slot]).register(registry);
    }
    gauge("conclave.raft.term", p -> p.term);
    gauge("conclave.raft.commit_index", p -> p.commit);
    gauge("conclave.raft.applied_index", p -> p.applied);
    gauge("conclave.raft.apply_lag", p -> Math.max(0, p.commit - p.applied)); // entries committed, not yet applied here
    gauge("conclave.raft.last_index", p -> p.lastIndex);
    gauge("conclave.raft.leader", p -> p.leader);
    gauge("conclave.raft.snapshot_index", p -> p.snapshotIndex);
    gauge("conclave.raft.first_index", p -> p.firstIndex);
    leaderChanges = Counter.builder("conclave.raft.leader.changes")
        .description("times the known leader changed to another server").register(registry);
    proposalsAccepted = proposals("accepted");
    proposalsNotLeader = proposals("not_leader");
    proposalsRejected = proposals("rejected");
    commitLatency = Timer.builder("conclave.raft.commit.latency")
        .description("propose to applied on the leader").publishPercentileHistogram().register(registry);
    fsync = Timer.builder("conclave.raft.fsync")
        .description("one group-commit sync of the Raft log").publishPercentileHistogram().register(registry);
    batchReadies = DistributionSummary.builder("conclave.raft.sync.readies")
        .description("Raft Readies made durable by one sync (group commit)").register(registry);
    snapshotsTaken = snapshots("taken", "snapshots of the state machine taken here and saved");
    snapshotsInstalled = snapshots("installed", "snapshots received from the leader and installed");
    snapshotsFailed = snapshots("failed", "snapshots that could not be written (the log keeps growing)");
    snapshotTake = Timer.builder("conclave.raft.snapshot.duration").tag("kind", "taken")
        .description("capture at the applied index to durable and compacted").register(registry);
    snapshotInstall = Timer.builder("conclave.raft.snapshot.duration").tag("kind", "installed")
        .description("installing a leader's snapshot into the state machine (after it was read)").register(registry);
    if (store instanceof SegmentedLogStore segmented) {
      FunctionCounter.builder("conclave.raft.log.fsyncs", segmented, SegmentedLogStore::fsyncCount).register(registry);
      FunctionCounter.builder("conclave.raft.log.bytes_written", segmented, SegmentedLogStore::bytesWritten).register(registry);
      Gauge.builder("conclave.raft.log.fsync_last_seconds", segmented, s -> s.fsyncNanosLast() / 1e9).register(registry);
      Gauge.builder("conclave.raft.log.segments", segmented, SegmentedLogStore::segmentCount).register(registry);
    }
  }

  private void gauge(String name, ToLongFunction<Published> value) {
    Gauge.builder(name, this, m -> value.applyAsLong(m.published)).register(registry);
  }

  private Counter snapshots(String result, String description) {
    return Counter.builder("conclave.raft.snapshots").tag("result", result).description(description).register(registry);
  }

  private Counter proposals(String result) {
    return Counter.builder("conclave.raft.proposals").tag("result", result).register(registry);
  }

  void publish(RaftMetrics m, long term, long commit, long applied, long lastIndex, boolean leader,
      long snapshotIndex, long firstIndex) {
    long[] c = {m.electionsStarted, m.preVotesStarted, m.leaderships, m.leaderStepDowns,
        m.checkQuorumStepDowns, m.votesIgnoredInLease, m.appendsSent, m.appendsRejected,
        m.configurationChanges, m.transfersStarted, m.readIndexRounds, m.leaseReads, m.readsFailed, m.dropped};
    published = new Published(c, term, commit, applied, lastIndex, leader ? 1 : 0, snapshotIndex, firstIndex);
  }

  void dropped(String reason) {
    dropped.computeIfAbsent(reason, r -> Counter.builder("conclave.raft.dropped").tag("reason", r)
        .description("Raft messages dropped by the runtime").register(registry)).increment();
  }

  /** Drops counted for {@code reason} so far. */
  long droppedCount(String reason) {
    Counter c = dropped.get(reason);
    return c == null ? 0 : (long) c.count();
  }

  void leaderChanged() {
    leaderChanges.increment();
  }

  void proposalAccepted() {
    proposalsAccepted.increment();
  }

  void proposalNotLeader() {
    proposalsNotLeader.increment();
  }

  void proposalRejected() {
    proposalsRejected.increment();
  }

  void committed(long startNanos, long nowNanos) {
    commitLatency.record(nowNanos - startNanos, TimeUnit.NANOSECONDS);
  }

  void synced(long nanos, int readies) {
    fsync.record(nanos, TimeUnit.NANOSECONDS);
    batchReadies.record(readies);
  }

  void snapshotTaken(long nanos) {
    snapshotsTaken.increment();
    snapshotTake.record(nanos, TimeUnit.NANOSECONDS);
  }

  void snapshotInstalled(long nanos) {
    snapshotsInstalled.increment();
    snapshotInstall.record(nanos, TimeUnit.NANOSECONDS);
  }

  void snapshotFailed() {
    snapshotsFailed.increment();
  }

  Timer commitLatency() {
    return commitLatency;
  }

  Timer fsync() {
    return fsync;
  }
}
