package io.conclave.consensus.raft;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.message.Message;
import java.util.List;

/**
 * What a {@link RaftNode} hands back for the runtime to carry out, in this order:
 *
 * <ol>
 *   <li>save {@code snapshot} when it is not null (a snapshot received from the leader), append {@code
 *       entries} to the log store (replacing any stored suffix from the first index) and save {@code
 *       hardState} when it is not null;
 *   <li>make both durable (one fsync for the batch) <em>before</em> sending anything: a vote, a term
 *       and an acknowledged entry must survive a crash (Raft Figure 2);
 *   <li>send {@code messages};
 *   <li>restore the state machine from {@code snapshot} when it is not null, then apply {@code
 *       committed} to it, in order;
 *   <li>serve each of {@code reads} once the state machine has applied its index.
 * </ol>
 *
 * Readies must be carried out in the order they were returned. The runtime may merge several into
 * one batch (group commit) as long as it keeps that order within the batch.
 */
public record Ready(
    HardState hardState,
    Snapshot snapshot,
    List<Entry> entries,
    List<Message> messages,
    List<Entry> committed,
    List<ReadState> reads) {
  public static final Ready EMPTY = new Ready(null, null, List.of(), List.of(), List.of(), List.of());

  public boolean isEmpty() {
    return hardState == null && snapshot == null && entries.isEmpty() && messages.isEmpty()
        && committed.isEmpty() && reads.isEmpty();
  }

  /** True when something must be forced to disk before {@link #messages()} may leave. */
  public boolean mustSync() {
    return hardState != null || snapshot != null || !entries.isEmpty();
  }
}
