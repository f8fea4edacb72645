package io.conclave.consensus.raft;

/**
 * Counters a {@link RaftNode} keeps about itself, for the runtime to export. Plain fields: the node is
 * single-threaded, and the runtime reads them from the same thread.
 */
public final class RaftMetrics {
  /** Election timeouts that fired on a voter (each starts a pre-vote or an election). */
  public long electionTimeouts;
  public long preVotesStarted;
  /** Elections that raised the term. */
  public long electionsStarted;
  /** Times this member became leader. */
  public long leaderships;
  public long leaderStepDowns;
  /** Leaderships given up because a majority was not heard from within an election timeout. */
  public long checkQuorumStepDowns;
  /** Vote requests ignored because a leader was heard from recently (leader stickiness). */
  public long votesIgnoredInLease;
  public long staleTermMessages;
  public long proposalsAccepted;
  public long proposalsRejected;
  public long appendsSent;
  public long appendsRejected;
  public long backtracks;
  /** Pipelines restarted from the last match because acknowledgements stalled (lost messages). */
  public long resends;
  public long configurationChanges;
  public long configurationChangesRefused;
  public long transfersStarted;
  public long transfersAborted;
  /** Heartbeat rounds that confirmed leadership for ReadIndex reads. */
  public long readIndexRounds;
  public long leaseReads;
  public long readsFailed;
  public long snapshotsTaken;
  public long snapshotChunksSent;
  public long snapshotsInstalled;
  /** InstallSnapshot chunks dropped: too large, malformed, or out of order. */
  public long snapshotChunksRefused;
  /** Messages that did not fit the current role or were addressed to another member. */
  public long dropped;
}
