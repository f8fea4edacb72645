package io.conclave.daemon.kv;

import io.vertx.core.Future;

/**
 * What the KV HTTP API needs from the cluster runtime. The Raft runtime implements it (proposing on
 * the leader, forwarding from followers and client agents over the internal channel, with a time
 * bound); {@link LocalKvBackend} implements it for a single process.
 *
 * <p>Failures a client can act on are {@link io.conclave.daemon.cluster.ClusterControlException}s:
 * {@code NO_LEADER} (500 "No cluster leader"; the write was not applied), {@code TIMEOUT} (504; it
 * may or may not have been applied, and a retry with the same bytes is deduplicated),
 * {@code UNAVAILABLE} (503).
 */
public interface KvBackend {
  /**
   * Proposes an encoded {@link KvRequest} (see {@link KvCodec}) and completes with the result the
   * state machine returned when it applied that entry. A retry after a leader change must re-send
   * the same bytes (same {@link RequestId}), so the state machine answers the first result.
   */
  Future<KvResult> write(byte[] command);

  /**
   * Completes when {@link #local()} reflects every write acknowledged before this call, per mode:
   * DEFAULT a lease read or ReadIndex, CONSISTENT a ReadIndex confirmed by a quorum, STALE at once.
   */
  Future<Void> readBarrier(Consistency consistency);

  /** This server's copy of the store (reads after a barrier, blocking-query notifications). */
  KvStateMachine local();

  /** {@code X-Consul-KnownLeader}. */
  boolean knownLeader();

  /** {@code X-Consul-LastContact}: ms since the leader was last heard from; 0 on the leader. */
  long lastContactMs();
}
