package io.conclave.membership.swim;

import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;

/**
 * A change in this member's view of another member, for the daemon (which feeds servers' changes to
 * Raft). {@code member} is the record after the change; {@code previous} the state before it (null for
 * JOINED of a member never seen before).
 */
public record MemberEvent(Kind kind, Member member, MemberState previous) {
  public enum Kind {
    /** A member not known before (or known as left) is alive. */
    JOINED,
    /** An alive member changed its address or tags (at a higher incarnation). */
    UPDATED,
    /** A probe of the member failed somewhere; it may still refute. */
    SUSPECT,
    /** A suspected or failed member proved alive at a higher incarnation. */
    ALIVE_AGAIN,
    /** The member's suspicion timed out: it is considered crashed. */
    FAILED,
    /** The member left gracefully. */
    LEFT,
    /** A failed or left member was forgotten after the reap time. */
    REAPED
  }
}
