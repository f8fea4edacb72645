package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.Member;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The {@code --bootstrap-expect N} rule, as a pure function of what gossip shows.
 *
 * <ul>
 *   <li>Some other live server already has Raft state ({@code raft_state=member}): a group exists,
 *       so this server must not found another one; it starts empty and waits for a leader to add
 *       it (autopilot does).
 *   <li>Fewer than N live servers without Raft state: wait.
 *   <li>Otherwise the voters are the N lowest names among them. Every server computes the same set
 *       from the same view; a server outside it starts empty and is added later as a learner.
 * </ul>
 *
 * Only live servers count (alive or suspect); a failed one may be gone for good. The runtime also
 * requires the same answer for a settle time before it acts, so servers whose views are still
 * converging do not bootstrap different sets.
 */
public final class BootstrapPlan {
  private BootstrapPlan() {}

  /** What to do now. */
  public sealed interface Decision permits Wait, Bootstrap, JoinExisting {
    String reason();
  }

  /** Not enough servers yet. */
  public record Wait(String reason) implements Decision {}

  /** Found the group with exactly these voters. */
  public record Bootstrap(SortedSet<String> voters, String reason) implements Decision {}

  /** Do not bootstrap: start with an empty configuration and wait to be added. */
  public record JoinExisting(String reason) implements Decision {}

  public static Decision decide(String self, int expect, List<Member> members) {
    if (expect < 1) {
      throw new IllegalArgumentException("expect " + expect + " < 1");
    }
    TreeSet<String> fresh = new TreeSet<>();
    TreeSet<String> established = new TreeSet<>();
    for (Member m : members) {
      if (!ServerTags.isServer(m) || !ServerTags.isLive(m)) {
        continue;
      }
      if (m.name().equals(self)) {
        fresh.add(self); // this server has no state, or the runtime would not ask
      } else if (ServerTags.hasRaftState(m)) {
        established.add(m.name());
      } else {
        fresh.add(m.name());
      }
    }
    fresh.add(self);
    if (!established.isEmpty()) {
      return new JoinExisting("servers " + established + " already belong to a Raft group");
    }
    if (fresh.size() < expect) {
      return new Wait(fresh.size() + " of " + expect + " expected servers seen " + fresh);
    }
    TreeSet<String> voters = new TreeSet<>();
    for (String name : fresh) {
      if (voters.size() == expect) {
        break;
      }
      voters.add(name);
    }
    if (!voters.contains(self)) {
      return new JoinExisting(fresh.size() + " servers without state seen " + fresh + "; the " + expect
          + " lowest names " + voters + " bootstrap, this server joins later as a learner");
    }
    return new Bootstrap(voters, fresh.size() + " of " + expect + " expected servers seen " + fresh);
  }
}
