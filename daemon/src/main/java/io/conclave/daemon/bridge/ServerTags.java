package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import java.util.Optional;

/**
 * The gossip tags through which servers tell every member what Raft needs to know:
 *
 * <ul>
 *   <li>{@code role}: {@code server} or {@code client};
 *   <li>{@code raft}: a server's Raft address {@code host:port} (feeds the Raft peer map);
 *   <li>{@code http}: a server's HTTP address {@code host:port}, where followers and client agents
 *       forward requests that need the leader;
 *   <li>{@code raft_state}: {@code none} while a server has no Raft state (bootstrap-expect counts
 *       only those), {@code member} once it has some;
 *   <li>{@code leader}, {@code term}: the leader a server follows and its term (client agents learn
 *       the leader from them); absent while it knows none;
 *   <li>{@code version}: the daemon's version.
 * </ul>
 */
public final class ServerTags {
  public static final String ROLE = "role";
  public static final String RAFT = "raft";
  public static final String HTTP = "http";
  public static final String RAFT_STATE = "raft_state";
  public static final String LEADER = "leader";
  public static final String TERM = "term";
  public static final String VERSION = "version";

  public static final String STATE_NONE = "none";
  public static final String STATE_MEMBER = "member";

  private ServerTags() {}

  public static boolean isServer(Member m) {
    return Member.ROLE_SERVER.equals(m.tags().get(ROLE));
  }

  public static boolean isLive(Member m) {
    return m.state() == MemberState.ALIVE || m.state() == MemberState.SUSPECT;
  }

  public static Optional<String> raftAddress(Member m) {
    String a = m.tags().get(RAFT);
    return a == null || a.isEmpty() ? Optional.empty() : Optional.of(a);
  }

  public static Optional<String> httpAddress(Member m) {
    String a = m.tags().get(HTTP);
    return a == null || a.isEmpty() ? Optional.empty() : Optional.of(a);
  }

  /** The HTTP address gossip shows for the live server {@code node}. */
  public static Optional<String> httpAddressOf(java.util.List<Member> members, String node) {
    for (Member m : members) {
      if (m.name().equals(node) && isServer(m) && isLive(m)) {
        return httpAddress(m);
      }
    }
    return Optional.empty();
  }

  public static boolean hasRaftState(Member m) {
    return STATE_MEMBER.equals(m.tags().get(RAFT_STATE));
  }
}
