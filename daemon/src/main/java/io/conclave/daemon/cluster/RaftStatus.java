package io.conclave.daemon.cluster;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What this daemon knows about Raft right now.
 *
 * @param role this daemon's role
 * @param leaderId the leader's Raft ID, empty when none is known
 * @param leaderAddress the leader's Raft address {@code host:port}, empty when none is known
 * @param term current term (0 when Raft is not running)
 * @param commitIndex highest log index known committed
 * @param leaderContactAt when this daemon last heard from the leader (a follower: the last
 *     AppendEntries; a client agent: the last answer from a server that knew the leader); empty
 *     when never. Ignored for the leader itself, whose last contact is 0.
 * @param note why Raft is not usable, shown as the health reason when role is NONE (e.g. "raft not
 *     running"); empty otherwise
 */
public record RaftStatus(RaftRole role, String leaderId, String leaderAddress, long term,
    long commitIndex, Optional<Instant> leaderContactAt, String note) {

  public RaftStatus {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(leaderId, "leaderId");
    Objects.requireNonNull(leaderAddress, "leaderAddress");
    Objects.requireNonNull(leaderContactAt, "leaderContactAt");
    Objects.requireNonNull(note, "note");
  }

  /** Raft is not running here, for {@code reason}. */
  public static RaftStatus notRunning(String reason) {
    return new RaftStatus(RaftRole.NONE, "", "", 0, 0, Optional.empty(), reason);
  }

  public boolean leaderKnown() {
    return !leaderAddress.isEmpty();
  }
}
