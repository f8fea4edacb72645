package io.conclave.daemon.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * When a server snapshots its state machine and how much log it keeps behind the snapshot
 * (docs/raft.md, "Snapshots and compaction"). Each server decides on its own, leader or follower.
 *
 * @param thresholdEntries take a snapshot once the applied index is this many entries past the last
 *     snapshot (taken here or installed from the leader); default 8,192, as hashicorp/raft's
 *     SnapshotThreshold. 0 turns snapshots off (the log then grows without bound). Lower bounds the
 *     log and the replay after a restart more tightly, but each snapshot costs a copy of the state
 *     machine's references on the event loop, the full serialization on a worker, and one write of
 *     the whole state plus three fsyncs on the log's worker (about 15 ms for 1 MiB and 200 ms for
 *     64 MiB on the shared test VM, docs/storage.md), during which log syncs wait.
 * @param trailingEntries entries the Raft core keeps in memory behind a snapshot, so a follower a
 *     little behind catches up from the log instead of receiving the whole snapshot; default 10,240,
 *     as hashicorp/raft's TrailingLogs. Costs memory (each entry as large as its command). On disk the
 *     log starts right after the snapshot, so after a restart a follower behind it gets the snapshot.
 * @param thresholdBytes also take a snapshot once the entries applied since the last one carry this
 *     much data; default 16 MiB. The log lives in memory: by count alone, 8,192 values of 512 KiB
 *     (4 GB) would come before a snapshot, and a server on a 256 MB heap died of OutOfMemoryError
 *     after 430 of them.
 * @param trailingBytes at most this much entry data kept behind a snapshot (the core's
 *     {@code RaftConfig.trailingBytes}), whatever {@code trailingEntries} allows; default 16 MiB.
 */
public record SnapshotPolicy(long thresholdEntries, long trailingEntries, long thresholdBytes, long trailingBytes) {
  public static final long THRESHOLD_ENTRIES_DEFAULT = 8_192;
  public static final long TRAILING_ENTRIES_DEFAULT = 10_240;
  public static final long THRESHOLD_BYTES_DEFAULT = 16L << 20;
  public static final long TRAILING_BYTES_DEFAULT = 16L << 20;

  /** By entry counts, with the default byte bounds. */
  public SnapshotPolicy(long thresholdEntries, long trailingEntries) {
    this(thresholdEntries, trailingEntries, THRESHOLD_BYTES_DEFAULT, TRAILING_BYTES_DEFAULT);
  }

  public SnapshotPolicy {
    List<String> problems = new ArrayList<>();
    if (thresholdEntries < 0) problems.add("thresholdEntries " + thresholdEntries + " < 0");
    if (trailingEntries < 0) problems.add("trailingEntries " + trailingEntries + " < 0");
    if (thresholdBytes < 1) problems.add("thresholdBytes " + thresholdBytes + " < 1");
    if (trailingBytes < 0) problems.add("trailingBytes " + trailingBytes + " < 0");
    if (!problems.isEmpty()) throw new IllegalArgumentException("bad snapshot policy: " + String.join("; ", problems));
  }

  public static SnapshotPolicy defaults() {
    return new SnapshotPolicy(THRESHOLD_ENTRIES_DEFAULT, TRAILING_ENTRIES_DEFAULT);
  }

  /** Never snapshot (the behaviour before snapshots were wired). */
  public static SnapshotPolicy off() {
    return new SnapshotPolicy(0, TRAILING_ENTRIES_DEFAULT);
  }

  public boolean enabled() {
    return thresholdEntries > 0;
  }
}
