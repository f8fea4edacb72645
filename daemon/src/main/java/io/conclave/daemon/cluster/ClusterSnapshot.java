package io.conclave.daemon.cluster;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One consistent, immutable picture of the cluster as this daemon sees it, taken on the runtime's
 * context so that the HTTP layer never reads the cores concurrently.
 *
 * @param self this daemon's own member record
 * @param members every member known to gossip, including self
 * @param raft Raft status
 * @param configuration the latest Raft configuration this daemon knows; empty when none
 */
public record ClusterSnapshot(Member self, List<Member> members, RaftStatus raft,
    Optional<RaftConfiguration> configuration) {

  public ClusterSnapshot {
    Objects.requireNonNull(self, "self");
    Objects.requireNonNull(raft, "raft");
    Objects.requireNonNull(configuration, "configuration");
    members = List.copyOf(members);
  }

  public long count(MemberState state) {
    return members.stream().filter(m -> m.state() == state).count();
  }
}
