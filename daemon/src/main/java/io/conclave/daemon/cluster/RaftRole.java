package io.conclave.daemon.cluster;

import java.util.Locale;

/** This daemon's part in Raft, as /v1/health reports it. */
public enum RaftRole {
  LEADER, FOLLOWER, CANDIDATE, LEARNER,
  /** A client agent: runs no Raft; it learns the leader from the servers. */
  CLIENT,
  /** Raft is not running here (not started yet, stopped, or the core is not wired). */
  NONE;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
