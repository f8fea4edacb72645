package io.conclave.daemon.raft;

/**
 * Decides, per outgoing Raft frame, whether it leaves this server: the seam tests use to partition
 * in-JVM servers (drop every frame between two groups, or one direction only). A refused frame is
 * dropped silently, as a lost packet: the sender is told it was queued. Production uses {@link
 * #ALLOW_ALL}.
 *
 * <p>Called on the Raft runtime's context for every frame: it must be fast and must not block.
 */
@FunctionalInterface
public interface RaftLinkFilter {
  /** Every frame is sent: the default. */
  RaftLinkFilter ALLOW_ALL = (from, to) -> true;

  /**
   * @param from this server's Raft ID
   * @param to the Raft address the frame is for
   * @return whether the frame is sent (false = dropped as if lost on the wire)
   */
  boolean allows(String from, RaftPeers.Address to);
}
