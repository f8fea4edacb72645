package io.conclave.daemon.cluster;

import java.util.Locale;

/** A member's state as this daemon's gossip sees it. */
public enum MemberState {
  ALIVE(1), SUSPECT(1),
  /** This daemon itself between its leave and the moment its Leave rumor is out (Serf's "leaving"). */
  LEAVING(2),
  LEFT(3), FAILED(4);

  private final int consulStatus;

  MemberState(int consulStatus) {
    this.consulStatus = consulStatus;
  }

  /** Serf's MemberStatus, as Consul's {@code Status}: 1 alive, 2 leaving, 3 left, 4 failed; a suspect shows 1. */
  public int consulStatus() {
    return consulStatus;
  }

  /** The {@code State} field of /v1/agent/members: alive, suspect, leaving, left or failed. */
  public String stateName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
