package io.conclave.daemon.cluster;

/** A control request that could not be done, with a kind the HTTP layer maps to a status code. */
public final class ClusterControlException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why a request failed. */
  public enum Kind {
    /** No leader is known: 500 "No cluster leader", as Consul. */
    NO_LEADER,
    /** The named peer is not in the configuration: 400. */
    UNKNOWN_PEER,
    /** Refused by a safety rule, e.g. removing it would lose quorum: 409. */
    REJECTED,
    /** This daemon cannot do it now, e.g. Raft is not running: 503. */
    UNAVAILABLE,
    /** No answer in time: 504. */
    TIMEOUT
  }

  private final Kind kind;

  public ClusterControlException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
