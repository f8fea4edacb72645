package io.conclave.consensus.raft;

import java.util.ArrayDeque;

/**
 * The leader's view of one follower's log (Raft Figure 2 nextIndex/matchIndex), plus the flow
 * control that makes pipelining safe.
 *
 * <p>In {@link State#PROBE} the leader does not know where the follower's log matches: it sends one
 * AppendEntries at a time and waits for the answer. In {@link State#REPLICATE} it knows, and streams
 * batches optimistically, up to {@code maxInflight} unacknowledged messages.
 */
final class Progress {
  enum State {
    PROBE,
    REPLICATE,
    /** Behind the compacted log: receiving {@link #snapshot} chunk by chunk. */
    SNAPSHOT
  }

  // invariant: 0 <= match < next
  long match;
  long next;
  State state = State.PROBE;
  /** PROBE only: an AppendEntries is out and unanswered. */
  boolean probeSent;
  /** {@code match} when the previous heartbeat answer arrived: detects a stalled pipeline. */
  long matchAtLastHeartbeat = -1;
  /** Heard from since the last check-quorum round. */
  boolean recentActive;
  /** Leader tick of the last message from this follower (reachability for configuration changes). */
  long lastHeardTick;
  /** Highest heartbeat round this follower answered (confirms leadership for reads). */
  long ackedRound;
  // SNAPSHOT state: the snapshot being sent, the next offset to send, and whether a chunk is out.
  Snapshot snapshot;
  long snapshotOffset;
  boolean snapshotChunkOut;
  long snapshotOffsetAtLastHeartbeat = -1;
  /** Last index carried by each unacknowledged AppendEntries, oldest first (REPLICATE only). */
  private final ArrayDeque<Long> inflight = new ArrayDeque<>();
  private final int maxInflight;

  Progress(long next, int maxInflight) {
    this.next = next;
    this.maxInflight = maxInflight;
  }

  boolean canSend() {
    return switch (state) {
      case PROBE -> !probeSent;
      case REPLICATE -> inflight.size() < maxInflight;
      case SNAPSHOT -> false;
    };
  }

  void sent(long lastIndex) {
    if (state == State.PROBE) {
      probeSent = true;
    } else {
      inflight.addLast(lastIndex);
      next = lastIndex + 1;
    }
  }

  /** An acknowledgement up to {@code index}; returns whether it moved {@code match}. */
  boolean acked(long index) {
    boolean moved = index > match;
    if (moved) match = index;
    if (next <= match) next = match + 1;
    if (state != State.REPLICATE) {
      becomeReplicate();
    } else {
      while (!inflight.isEmpty() && inflight.peekFirst() <= index) inflight.pollFirst();
    }
    return moved;
  }

  void becomeReplicate() {
    snapshot = null;
    state = State.REPLICATE;
    next = match + 1;
    probeSent = false;
    inflight.clear();
  }

  void becomeSnapshot(Snapshot s) {
    state = State.SNAPSHOT;
    snapshot = s;
    snapshotOffset = 0;
    snapshotChunkOut = false;
    snapshotOffsetAtLastHeartbeat = -1;
    probeSent = false;
    inflight.clear();
  }

  void becomeProbe(long next) {
    snapshot = null;
    state = State.PROBE;
    this.next = Math.max(match + 1, next);
    probeSent = false;
    inflight.clear();
  }

  int inflightCount() {
    return inflight.size();
  }

  @Override
  public String toString() {
    return state + " match=" + match + " next=" + next + " inflight=" + inflight.size();
  }
}
