package io.conclave.consensus.raft;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Everything a {@link RaftNode} is told at construction. Time is counted in ticks; the runtime
 * chooses the tick length (the daemon's tick is documented with its flags).
 *
 * @param id this member's unique id
 * @param voters the voters a brand new group bootstraps with: a member whose log and snapshot are
 *     empty writes them as the group's first entry. Empty for a member that joins an existing group
 *     (it waits to be added as a learner). Ignored once the log holds a configuration.
 * @param electionTimeoutTicks base election timeout, default 10 ticks. A follower that hears nothing
 *     from a leader for a random time in [this, 2×this) starts an election; a leader that has not heard
 *     from a majority within this steps down (check-quorum). Raising it slows failover; lowering it
 *     toward the heartbeat risks elections on a slow network or disk (Raft §5.6).
 * @param heartbeatTicks ticks between leader heartbeats, default 2; below the election timeout
 * @param maxMsgBytes upper bound on the entry bytes in one AppendEntries (batching), default 1 MiB; a
 *     single larger entry still goes alone
 * @param maxInflightMsgs AppendEntries a leader may have in flight to one follower (pipelining
 *     window), default 256; with {@code maxMsgBytes} it bounds the bytes in flight per follower
 * @param checkQuorum a leader steps down when it has not heard from a majority within an election
 *     timeout, and members that heard from a leader within the timeout ignore vote requests (leader
 *     stickiness), default on. Lease reads need it.
 * @param preVote a would-be candidate first asks whether it could win before raising its term
 *     (dissertation §9.6), so a member that was cut off and comes back does not depose a healthy
 *     leader, default on
 * @param leaseDriftTicks how much faster than the leader's clock a follower's may run over one
 *     election timeout, default 2 ticks: the lease lasts {@code electionTimeoutTicks - this} ticks
 *     from the heartbeat round a majority answered. Must be below the election timeout.
 * @param snapshotChunkBytes bytes per InstallSnapshot message, default 512 KiB
 * @param maxSnapshotBytes largest snapshot a follower accepts, default 1 GiB; a bigger one is dropped
 *     and counted (it is held in memory while it arrives)
 * @param trailingEntries entries kept behind a snapshot when the log is compacted, default 5,000, so a
 *     follower a little behind catches up from the log rather than a whole snapshot
 * @param trailingBytes at most this many bytes of entry data kept behind a snapshot, default 16 MiB,
 *     whatever {@code trailingEntries} allows: the log lives in memory, and 5,000 entries of 512 KiB
 *     would be 2.5 GB
 */
public record RaftConfig(
    String id,
    Set<String> voters,
    int electionTimeoutTicks,
    int heartbeatTicks,
    long maxMsgBytes,
    int maxInflightMsgs,
    boolean checkQuorum,
    boolean preVote,
    int leaseDriftTicks,
    int snapshotChunkBytes,
    long maxSnapshotBytes,
    long trailingEntries,
    long trailingBytes) {

  public static final int DEFAULT_ELECTION_TIMEOUT_TICKS = 10;
  public static final int DEFAULT_HEARTBEAT_TICKS = 2;
  public static final long DEFAULT_MAX_MSG_BYTES = 1L << 20;
  public static final int DEFAULT_MAX_INFLIGHT_MSGS = 256;
  public static final int DEFAULT_LEASE_DRIFT_TICKS = 2;
  public static final int DEFAULT_SNAPSHOT_CHUNK_BYTES = 512 * 1024;
  public static final long DEFAULT_MAX_SNAPSHOT_BYTES = 1L << 30;
  public static final long DEFAULT_TRAILING_ENTRIES = 5_000;
  public static final long DEFAULT_TRAILING_BYTES = 16L << 20;

  public RaftConfig {
    Objects.requireNonNull(id, "id");
    voters = Set.copyOf(new TreeSet<>(voters));
    List<String> problems = new ArrayList<>();
    if (id.isEmpty()) problems.add("id is empty");
    if (electionTimeoutTicks < 2) problems.add("electionTimeoutTicks " + electionTimeoutTicks + " < 2");
    if (heartbeatTicks < 1) problems.add("heartbeatTicks " + heartbeatTicks + " < 1");
    if (heartbeatTicks >= electionTimeoutTicks) {
      problems.add("heartbeatTicks " + heartbeatTicks + " >= electionTimeoutTicks " + electionTimeoutTicks);
    }
    if (maxMsgBytes < 1) problems.add("maxMsgBytes " + maxMsgBytes + " < 1");
    if (maxInflightMsgs < 1) problems.add("maxInflightMsgs " + maxInflightMsgs + " < 1");
    if (leaseDriftTicks < 0 || leaseDriftTicks >= electionTimeoutTicks) {
      problems.add("leaseDriftTicks " + leaseDriftTicks + " outside [0, electionTimeoutTicks)");
    }
    if (snapshotChunkBytes < 1) problems.add("snapshotChunkBytes " + snapshotChunkBytes + " < 1");
    if (maxSnapshotBytes < 1) problems.add("maxSnapshotBytes " + maxSnapshotBytes + " < 1");
    if (trailingEntries < 0) problems.add("trailingEntries " + trailingEntries + " < 0");
    if (trailingBytes < 0) problems.add("trailingBytes " + trailingBytes + " < 0");
    if (!problems.isEmpty()) throw new IllegalArgumentException("bad raft config: " + String.join("; ", problems));
  }

  /** The defaults above for member {@code id}; {@code voters} as for a new group (may be empty). */
  public static RaftConfig of(String id, Set<String> voters) {
    return new RaftConfig(
        id,
        voters,
        DEFAULT_ELECTION_TIMEOUT_TICKS,
        DEFAULT_HEARTBEAT_TICKS,
        DEFAULT_MAX_MSG_BYTES,
        DEFAULT_MAX_INFLIGHT_MSGS,
        true,
        true,
        DEFAULT_LEASE_DRIFT_TICKS,
        DEFAULT_SNAPSHOT_CHUNK_BYTES,
        DEFAULT_MAX_SNAPSHOT_BYTES,
        DEFAULT_TRAILING_ENTRIES,
        DEFAULT_TRAILING_BYTES);
  }

  public RaftConfig withTimeouts(int electionTimeoutTicks, int heartbeatTicks) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote,
        Math.min(leaseDriftTicks, electionTimeoutTicks - 1), snapshotChunkBytes, maxSnapshotBytes, trailingEntries, trailingBytes);
  }

  public RaftConfig withFlowControl(long maxMsgBytes, int maxInflightMsgs) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote,
        leaseDriftTicks, snapshotChunkBytes, maxSnapshotBytes, trailingEntries, trailingBytes);
  }

  public RaftConfig withSafety(boolean checkQuorum, boolean preVote) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote,
        leaseDriftTicks, snapshotChunkBytes, maxSnapshotBytes, trailingEntries, trailingBytes);
  }

  public RaftConfig withSnapshots(int snapshotChunkBytes, long trailingEntries) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote,
        leaseDriftTicks, snapshotChunkBytes, maxSnapshotBytes, trailingEntries, trailingBytes);
  }

  /** Keeps at most {@code trailingBytes} of entry data behind a snapshot. */
  public RaftConfig withTrailingBytes(long trailingBytes) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote,
        leaseDriftTicks, snapshotChunkBytes, maxSnapshotBytes, trailingEntries, trailingBytes);
  }

  public RaftConfig withLeaseDrift(int leaseDriftTicks) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote,
        leaseDriftTicks, snapshotChunkBytes, maxSnapshotBytes, trailingEntries, trailingBytes);
  }
}
