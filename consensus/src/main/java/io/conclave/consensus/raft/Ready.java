package io.conclave.consensus.raft;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.message.Message;
import java.util.List;

/**
 * What a {@link RaftNode} hands back for the runtime to carry out, in this order:
 *
 * <ol>
 *   <li>send {@code sendBeforeSync} at once, without waiting for any sync, this Ready's or an earlier
 *       one's (dissertation §10.2.1: the leader writes its log in parallel with replicating it). The
 *       core puts a message here only when it claims nothing that is not yet durable: the term and vote
 *       of its sender are already forced (the runtime said so through {@link
 *       RaftNode#persistedHardState}), and it acknowledges no entry. These are the leader's
 *       AppendEntries, Heartbeat and InstallSnapshot (the leader counts its own log towards a commit
 *       only up to what {@link RaftNode#persisted} reported) and the replies that acknowledge nothing:
 *       HeartbeatResponse, ReadIndexRequest, ReadIndexResponse;
 *   <li>save {@code snapshot} when it is not null (a snapshot received from the leader), append {@code
 *       entries} to the log store (replacing any stored suffix from the first index) and save {@code
 *       hardState} when it is not null;
 *   <li>when {@link #mustSync()}, make all of it durable (one fsync for the batch) <em>before</em>
 *       sending {@code messages}: a vote, a term and an acknowledged entry must survive a crash (Raft
 *       Figure 2). A hard state whose only change is the commit index needs no sync of its own (the
 *       commit index may be lost: it is relearned from the leader), so it goes out with the next one;
 *   <li>after the sync, report it: {@link RaftNode#persisted} with the last entry written (or the
 *       snapshot's index and term when no entry followed it) and {@link RaftNode#persistedHardState}
 *       with the last hard state written; then collect the next Ready (the report may commit);
 *   <li>send {@code messages};
 *   <li>restore the state machine from {@code snapshot} when it is not null, then apply {@code
 *       committed} to it, in order;
 *   <li>serve each of {@code reads} once the state machine has applied its index.
 * </ol>
 *
 * Readies must be carried out in the order they were returned (except {@code sendBeforeSync}, which
 * leaves at once). The runtime may merge several into one batch (group commit) as long as it keeps
 * that order within the batch.
 *
 * @param syncHardState the term or the vote of {@code hardState} changed: it must be forced before
 *     {@code messages} leave (false when only the commit index moved, or when hardState is null)
 */
public record Ready(
    HardState hardState,
    boolean syncHardState,
    Snapshot snapshot,
    List<Entry> entries,
    List<Message> sendBeforeSync,
    List<Message> messages,
    List<Entry> committed,
    List<ReadState> reads) {
  public static final Ready EMPTY = new Ready(null, false, null, List.of(), List.of(), List.of(), List.of(), List.of());

  public Ready {
    if (syncHardState && hardState == null) throw new IllegalArgumentException("syncHardState without a hard state");
  }

  public boolean isEmpty() {
    return hardState == null && snapshot == null && entries.isEmpty() && sendBeforeSync.isEmpty()
        && messages.isEmpty() && committed.isEmpty() && reads.isEmpty();
  }

  /**
   * True when something must be forced to disk before {@link #messages()} may leave: a snapshot, new
   * entries, or a new term or vote. A commit-only hard state is written but not forced.
   */
  public boolean mustSync() {
    return syncHardState || snapshot != null || !entries.isEmpty();
  }
}
