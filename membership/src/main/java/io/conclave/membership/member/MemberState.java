package io.conclave.membership.member;

/** What one member believes about another. The wire code of each state is its ordinal. */
public enum MemberState {
  /** Answering probes, or refuted its last suspicion. */
  ALIVE,
  /** A probe failed; the member has until its suspicion timeout to refute. */
  SUSPECT,
  /** The suspicion timed out without a refutation. Only a higher incarnation brings it back. */
  FAILED,
  /** The member announced a graceful leave. */
  LEFT;

  public boolean isLive() {
    return this == ALIVE || this == SUSPECT;
  }
}
