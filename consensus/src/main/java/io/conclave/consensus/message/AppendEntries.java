package io.conclave.consensus.message;

import io.conclave.consensus.log.Entry;
import java.util.List;

/**
 * Replicates a batch of entries (Raft §5.3). {@code entries} may be empty (a probe). The leader sends
 * several of these to a follower without waiting (pipelining), bounded by the follower's inflight
 * window.
 */
public record AppendEntries(
    String from,
    String to,
    long term,
    long prevLogIndex,
    long prevLogTerm,
    List<Entry> entries,
    long leaderCommit)
    implements Message {
  public AppendEntries {
    entries = List.copyOf(entries);
  }

  /** Index of the last entry carried, or {@code prevLogIndex} when empty. */
  public long lastIndex() {
    return prevLogIndex + entries.size();
  }
}
