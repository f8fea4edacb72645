package io.conclave.daemon.gossip;

import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;

/** Turns the gossip core's member records into the HTTP API's. */
public final class MemberViews {
  private MemberViews() {}

  public static Member toCluster(io.conclave.membership.member.Member m) {
    return new Member(m.name(), m.address().host(), m.address().port(), m.tags(), state(m.state()), m.incarnation());
  }

  static MemberState state(io.conclave.membership.member.MemberState s) {
    return switch (s) {
      case ALIVE -> MemberState.ALIVE;
      case SUSPECT -> MemberState.SUSPECT;
      case FAILED -> MemberState.FAILED;
      case LEFT -> MemberState.LEFT;
    };
  }
}
