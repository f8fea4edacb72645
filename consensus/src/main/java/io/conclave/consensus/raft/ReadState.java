package io.conclave.consensus.raft;

/**
 * The answer to a linearizable read request: once the local state machine has applied {@code index},
 * a read served from it reflects every write acknowledged before the read was requested. {@code
 * index} is -1 when the read could not be confirmed (no leader, leadership lost); the caller retries
 * or fails the read.
 */
public record ReadState(long requestId, long index) {
  public boolean ok() {
    return index >= 0;
  }
}
