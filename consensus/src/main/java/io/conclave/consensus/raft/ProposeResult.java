package io.conclave.consensus.raft;

/** What became of a proposal. Only the leader accepts; acceptance is not commitment. */
public sealed interface ProposeResult {
  /** Appended to the leader's log at {@code index} in {@code term}; it commits or is overwritten. */
  record Accepted(long index, long term) implements ProposeResult {}

  /** This member is not the leader; {@code leaderHint} is the leader it knows of, or null. */
  record NotLeader(String leaderHint) implements ProposeResult {}

  /** The leader refused; {@code reason} says why in words fit for an operator. */
  record Rejected(String reason) implements ProposeResult {}
}
