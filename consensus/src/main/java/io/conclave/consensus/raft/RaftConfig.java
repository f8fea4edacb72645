package io.conclave.consensus.raft;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Everything a {@link RaftNode} is told at construction. Time is counted in ticks; the runtime
 * chooses the tick length (the daemon uses 50 ms, so the defaults below give a 100 ms heartbeat and
 * a 500 to 1,000 ms election timeout).
 *
 * @param id this member's unique id
 * @param voters the voters of the initial configuration (the group a fresh cluster bootstraps with);
 *     ignored when the log already holds a configuration (a later issue)
 * @param electionTimeoutTicks base election timeout, default 10 ticks. A follower that hears nothing
 *     from a leader for a random time in [this, 2×this) starts an election; a leader that has not heard
 *     from a majority within this steps down (check-quorum). Raising it slows failover; lowering it
 *     below ~10× the heartbeat risks elections on a slow network or disk (Raft §5.6).
 * @param heartbeatTicks ticks between leader heartbeats, default 2; must be below the election
 *     timeout
 * @param maxMsgBytes upper bound on the entry bytes in one AppendEntries (batching), default 1 MiB; a
 *     single larger entry still goes alone
 * @param maxInflightMsgs AppendEntries a leader may have in flight to one follower (pipelining
 *     window), default 256; with {@code maxMsgBytes} this bounds the bytes in flight per follower
 * @param checkQuorum a leader steps down when it has not heard from a majority within an election
 *     timeout, and followers that heard from a leader within the timeout ignore vote requests
 *     (leader stickiness), default on
 * @param preVote a would-be candidate first asks whether it could win before raising its term
 *     (dissertation §9.6), so a member that was cut off and comes back does not depose a healthy
 *     leader, default on
 */
public record RaftConfig(
    String id,
    Set<String> voters,
    int electionTimeoutTicks,
    int heartbeatTicks,
    long maxMsgBytes,
    int maxInflightMsgs,
    boolean checkQuorum,
    boolean preVote) {

  public static final int DEFAULT_ELECTION_TIMEOUT_TICKS = 10;
  public static final int DEFAULT_HEARTBEAT_TICKS = 2;
  public static final long DEFAULT_MAX_MSG_BYTES = 1L << 20;
  public static final int DEFAULT_MAX_INFLIGHT_MSGS = 256;

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
    if (!problems.isEmpty()) throw new IllegalArgumentException("bad raft config: " + String.join("; ", problems));
  }

  /** The defaults above for member {@code id} in a group of {@code voters}. */
  public static RaftConfig of(String id, Set<String> voters) {
    return new RaftConfig(
        id,
        voters,
        DEFAULT_ELECTION_TIMEOUT_TICKS,
        DEFAULT_HEARTBEAT_TICKS,
        DEFAULT_MAX_MSG_BYTES,
        DEFAULT_MAX_INFLIGHT_MSGS,
        true,
        true);
  }

  public RaftConfig withTimeouts(int electionTimeoutTicks, int heartbeatTicks) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote);
  }

  public RaftConfig withFlowControl(long maxMsgBytes, int maxInflightMsgs) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote);
  }

  public RaftConfig withSafety(boolean checkQuorum, boolean preVote) {
    return new RaftConfig(id, voters, electionTimeoutTicks, heartbeatTicks, maxMsgBytes, maxInflightMsgs, checkQuorum, preVote);
  }
}
