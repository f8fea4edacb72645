package io.conclave.consensus.raft;

/** A member's role in the current term. */
public enum Role {
  FOLLOWER,
  /** Asking for pre-votes; has not raised its term (dissertation §9.6). */
  PRE_CANDIDATE,
  CANDIDATE,
  LEADER
}
