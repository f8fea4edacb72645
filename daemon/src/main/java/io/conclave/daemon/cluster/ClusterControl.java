package io.conclave.daemon.cluster;

import io.vertx.core.Future;
import java.util.Optional;

/**
 * Write side of the cluster for the HTTP API (and for SIGTERM). Implemented by the runtime.
 * Methods may be called from any thread (an HTTP event loop, the signal-handling main thread) and
 * must not block; the runtime hops onto its own context. Failures that a client caused or can act on are {@link ClusterControlException}s; anything else
 * is a bug and answers 500.
 */
public interface ClusterControl {

  /**
   * Graceful leave: a leader transfers leadership first, then the member gossips that it left.
   * Completes when that is done (or given up on); the daemon stops the process afterwards.
   */
  Future<Void> leave();

  /**
   * Hands leadership to the voter {@code targetId}, or to the most up-to-date voter when empty.
   * Forwarded to the leader when this daemon is not it.
   */
  Future<Void> transferLeadership(Optional<String> targetId);

  /** Removes the server with Raft ID {@code id} from the configuration, via the leader. */
  Future<Void> removePeer(String id);

  /**
   * The same control without forwarding, for a request another daemon already forwarded here: it
   * is served on this daemon or refused, never sent on (one hop at most). Default: this.
   */
  default ClusterControl direct() {
    return this;
  }
}
