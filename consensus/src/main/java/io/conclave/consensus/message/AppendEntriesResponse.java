package io.conclave.consensus.message;

/**
 * A follower's answer to {@link AppendEntries}.
 *
 * @param success whether the entries were accepted
 * @param index on success, the highest index now known to match the leader's log; on rejection, the
 *     {@code prevLogIndex} that did not match (lets the leader discard stale rejections)
 * @param conflictIndex on rejection, where the leader should look next: the first index of {@code
 *     conflictTerm} in the follower's log, or the follower's last index + 1 when its log is too short
 * @param conflictTerm on rejection, the follower's term at {@code index}, 0 when it has no entry there
 *     (fast backtracking, dissertation §5.3.5: the leader skips a whole term per round trip)
 */
public record AppendEntriesResponse(
    String from,
    String to,
    long term,
    boolean success,
    long index,
    long conflictIndex,
    long conflictTerm)
    implements Message {}
