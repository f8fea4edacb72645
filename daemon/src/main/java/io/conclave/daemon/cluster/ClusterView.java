package io.conclave.daemon.cluster;

import io.vertx.core.Future;

/**
 * Read side of the cluster for the HTTP API. Implemented by the runtime that drives the Raft and
 * gossip cores.
 *
 * <p>Contract: never blocks; the future may complete on any thread; the snapshot is immutable.
 * The runtime typically hops onto its own context ({@code context.runOnContext}) to read the cores
 * and completes the future there.
 */
@FunctionalInterface
public interface ClusterView {
  Future<ClusterSnapshot> snapshot();
}
