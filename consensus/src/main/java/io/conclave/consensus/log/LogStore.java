package io.conclave.consensus.log;

import io.conclave.consensus.raft.Snapshot;
import java.io.Closeable;
import java.util.List;

/**
 * Where a Raft node's durable state lives: hard state and log entries (snapshots join in a later
 * issue, see {@link Recovered}). The Raft core never calls a store: the runtime reads
 * {@link io.conclave.consensus.raft.Ready} and writes it here, in order, then calls {@link #sync()}
 * once for the whole batch (group commit) before it sends the Ready's messages.
 *
 * <p>Implementations are single-threaded: the runtime calls them from one thread (off the event
 * loop).
 */
public interface LogStore extends Closeable {

  /** The state found on open: what a restarted node starts from. */
  Recovered recovered();

  /**
   * Appends entries with contiguous indexes. When the first index is at or below the current last
   * index, the stored suffix from that index on is discarded first (a follower's log conflict,
   * Raft §5.3). Not durable until {@link #sync()}.
   *
   * @throws IllegalArgumentException if the indexes are not contiguous or leave a gap after the last
   *     stored index
   */
  void append(List<Entry> entries);

  /** Records the hard state; not durable until {@link #sync()}. */
  void saveHardState(HardState state);

  /** Forces everything written so far to stable storage (one fsync for the whole batch). */
  void sync();

  /** Index of the last stored entry, 0 when empty. */
  long lastIndex();

  /**
   * Stores a snapshot (durable at the next {@link #sync()}) and drops the log entries it covers: all
   * of them when the stored entry at the snapshot's index has another term or is missing, else those
   * up to its index. After a crash, recovery returns either the previous snapshot or this one, never
   * a part of one.
   *
   * <p>A snapshot at or below the index of the stored one (the latest saved, durable or not) is
   * ignored: the stored one already covers it, and cutting the log back to it would lose entries
   * after it. The daemon can hit this when a snapshot it took locally reaches the store after a
   * newer one installed from the leader; RaftNode itself never hands out such a snapshot.
   */
  default void saveSnapshot(Snapshot snapshot) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not store snapshots");
  }

  /**
   * Drops entries up to {@code index}, which a saved snapshot covers (log compaction). May be done
   * lazily, a whole segment at a time.
   */
  default void compact(long index) {}

  /**
   * What recovery found: the latest snapshot (null when none), then contiguous entries from {@code
   * firstIndex} ({@code snapshot.index() + 1} when there is a snapshot and the log was compacted up to
   * it).
   */
  record Recovered(HardState hardState, Snapshot snapshot, long firstIndex, List<Entry> entries) {
    public Recovered(HardState hardState, long firstIndex, List<Entry> entries) {
      this(hardState, null, firstIndex, entries);
    }

    public static Recovered empty() {
      return new Recovered(HardState.EMPTY, null, 1, List.of());
    }
  }
}
