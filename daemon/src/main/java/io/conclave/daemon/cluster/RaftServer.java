package io.conclave.daemon.cluster;

/**
 * One server of the Raft configuration, as /v1/operator/raft/configuration shows it.
 *
 * @param id Raft ID
 * @param node member name
 * @param address Raft address {@code host:port}
 * @param leader whether it is the current leader
 * @param voter a voter (true) or a learner still catching up (false)
 */
public record RaftServer(String id, String node, String address, boolean leader, boolean voter) {}
