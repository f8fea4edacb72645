package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.Member;
import java.util.List;
import java.util.Optional;

/**
 * A client agent's view of the leader, from the servers' gossip tags: among live servers, the
 * {@code leader} named at the highest {@code term}; the leader must itself be a live member with a
 * Raft address. Servers update their tags within a sync period of an election, so the newest term
 * wins over servers that have not caught up yet.
 */
public final class LeaderTags {
  private LeaderTags() {}

  /** The leader as the servers gossip it. */
  public record Leader(String id, String raftAddress, long term) {}

  public static Optional<Leader> pick(List<Member> members) {
    String bestId = null;
    long bestTerm = -1;
    for (Member m : members) {
      if (!ServerTags.isServer(m) || !ServerTags.isLive(m)) {
        continue;
      }
      String leader = m.tags().get(ServerTags.LEADER);
      long term = parseTerm(m.tags().get(ServerTags.TERM));
      if (leader == null || leader.isEmpty() || term < 0) {
        continue;
      }
      if (term > bestTerm) {
        bestTerm = term;
        bestId = leader;
      }
    }
    if (bestId == null) {
      return Optional.empty();
    }
    for (Member m : members) {
      if (m.name().equals(bestId) && ServerTags.isLive(m) && ServerTags.raftAddress(m).isPresent()) {
        return Optional.of(new Leader(bestId, ServerTags.raftAddress(m).get(), bestTerm));
      }
    }
    return Optional.empty();
  }

  private static long parseTerm(String text) {
    if (text == null) {
      return -1;
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
