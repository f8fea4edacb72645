package io.conclave.daemon.kv;

/** Consul's read modes (presence-only query flags). Writes always go through the leader. */
public enum Consistency {
  /** No flag (or {@code ?leader}): linearizable; the runtime may use a leader lease. */
  DEFAULT,
  /** {@code ?consistent}: linearizable without any clock assumption (ReadIndex with a quorum round). */
  CONSISTENT,
  /** {@code ?stale}: any server answers from its own copy, maybe behind. */
  STALE;

  public String effectiveName() {
    switch (this) {
      case CONSISTENT:
        return "consistent";
      case STALE:
        return "stale";
      default:
        return "leader";
    }
  }
}
