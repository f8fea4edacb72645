package io.conclave.daemon.raft;

import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.Role;

/**
 * One consistent picture of a {@link RaftRuntime}, taken on its context.
 *
 * @param id this server's Raft ID
 * @param role its role; meaningless when {@code failure} is not empty
 * @param term current term
 * @param leaderId the leader's Raft ID, "" when none is known
 * @param leaderAddress the leader's Raft address, "" when none is known or it has no address yet
 * @param commitIndex highest index known committed
 * @param appliedIndex highest index applied to the state machine here
 * @param lastIndex last index in the local log
 * @param configuration voters and learners in force (the latest appended)
 * @param configurationIndex the log index of that configuration
 * @param lastContactMs on a follower, ms since it last heard from a leader (tick resolution); 0
 *     on the leader
 * @param failure why Raft stopped here (storage failed, stopped), "" while running
 * @param snapshotIndex index of the latest snapshot this server holds (taken here or installed
 *     from the leader), 0 when none
 * @param firstIndex first index of the node's in-memory log: the trailing entries kept behind the
 *     snapshot start here
 */
public record RaftState(String id, Role role, long term, String leaderId, String leaderAddress,
    long commitIndex, long appliedIndex, long lastIndex, Configuration configuration,
    long configurationIndex, long lastContactMs, String failure, long snapshotIndex, long firstIndex) {

  public boolean isLeader() {
    return role == Role.LEADER && failure.isEmpty();
  }
}
