package io.conclave.daemon.raft;

/** Why a {@link RaftRuntime} request (propose, read, membership change, transfer) failed. */
public final class RaftRequestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The failure kinds a caller can act on. */
  public enum Kind {
    /** This server is not the leader; {@link #leaderId()} / {@link #leaderAddress()} hint where it is. */
    NOT_LEADER,
    /** The leader refused (a safety rule, a change in progress, a transfer in progress, ...). */
    REJECTED,
    /** No answer in time; a proposal may still commit later. */
    TIMEOUT,
    /** The entry was replaced by another leader's: it will never be applied. */
    LOST,
    /** The runtime is stopped or its storage failed. */
    STOPPED
  }

  private final Kind kind;
  private final String leaderId;
  private final String leaderAddress;

  public RaftRequestException(Kind kind, String message) {
    this(kind, message, "", "");
  }

  public RaftRequestException(Kind kind, String message, String leaderId, String leaderAddress) {
    super(message, null, false, false);
    this.kind = kind;
    this.leaderId = leaderId == null ? "" : leaderId;
    this.leaderAddress = leaderAddress == null ? "" : leaderAddress;
  }

  public Kind kind() {
    return kind;
  }

  /** The leader's Raft ID when known ({@link Kind#NOT_LEADER}), else "". */
  public String leaderId() {
    return leaderId;
  }

  /** The leader's Raft address when known, else "". */
  public String leaderAddress() {
    return leaderAddress;
  }
}
