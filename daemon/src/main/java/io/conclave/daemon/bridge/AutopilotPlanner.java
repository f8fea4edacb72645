package io.conclave.daemon.bridge;

import io.conclave.consensus.raft.Configuration;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.raft.RaftRuntime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Autopilot's decisions on the leader, as a deterministic function of the Raft configuration, the
 * followers' progress, gossip's member list and the time ({@link #plan}); it remembers only since when
 * each learner has been healthy and each server failed. One change at a time, in this order:
 *
 * <ol>
 *   <li>remove a server that left gracefully (at once);
 *   <li>remove a server gossip has shown failed, or not at all, for {@code cleanupFailed};
 *   <li>promote a learner that has been caught up, reachable and alive for {@code stabilization};
 *   <li>add as learner a live server (role=server with a Raft address) not in the configuration.
 * </ol>
 *
 * Removals do not check the quorum here: the Raft core refuses a change that would leave fewer
 * reachable voters than a quorum, and the runtime logs its reason. The leader never removes itself.
 */
public final class AutopilotPlanner {
  private final String self;
  private AutopilotSettings settings;
  private final Map<String, Long> healthySinceMs = new HashMap<>();
  private final Map<String, Long> failedSinceMs = new HashMap<>();

  /** One change to make, and why. */
  public sealed interface Action permits AddLearner, Promote, Remove {
    String member();

    String reason();
  }

  public record AddLearner(String member, String reason) implements Action {}

  public record Promote(String member, String reason) implements Action {}

  public record Remove(String member, String reason) implements Action {}

  public AutopilotPlanner(String self, AutopilotSettings settings) {
    this.self = self;
    this.settings = settings;
  }

  /** Thresholds for the next plans (a cluster-wide override may change them). */
  public void use(AutopilotSettings next) {
    this.settings = next;
  }

  public AutopilotSettings settings() {
    return settings;
  }

  /** Forgets the timers (e.g. after losing leadership: another leader has its own view). */
  public void reset() {
    healthySinceMs.clear();
    failedSinceMs.clear();
  }

  /**
   * @param conf the configuration in force (latest appended)
   * @param lastIndex the leader's last log index
   * @param progress each follower's match and reachability (leader's view)
   * @param members gossip's members, this one included
   */
  public Optional<Action> plan(Configuration conf, long lastIndex, Map<String, RaftRuntime.Progress> progress,
      List<Member> members, long nowMs) {
    Map<String, Member> byName = new HashMap<>();
    for (Member m : members) {
      byName.put(m.name(), m);
    }
    track(conf, lastIndex, progress, byName, nowMs);
    for (String id : conf.members()) {
      Member m = byName.get(id);
      if (!id.equals(self) && m != null && m.state() == MemberState.LEFT) {
        return Optional.of(new Remove(id, "left the cluster gracefully"));
      }
    }
    for (String id : conf.members()) {
      Long since = failedSinceMs.get(id);
      if (since != null && nowMs - since >= settings.cleanupFailed().toMillis()) {
        Member m = byName.get(id);
        String how = m == null ? "unknown to gossip" : "failed in gossip";
        return Optional.of(new Remove(id, how + " for " + (nowMs - since) + " ms (cleanup threshold "
            + settings.cleanupFailed().toMillis() + " ms)"));
      }
    }
    for (String id : conf.learners()) {
      Long since = healthySinceMs.get(id);
      if (since != null && nowMs - since >= settings.stabilization().toMillis()) {
        RaftRuntime.Progress p = progress.get(id);
        return Optional.of(new Promote(id, "caught up (match " + p.match() + " of " + lastIndex
            + ") and healthy for " + (nowMs - since) + " ms (stabilization " + settings.stabilization().toMillis() + " ms)"));
      }
    }
    for (Member m : members) {
      if (!m.name().equals(self) && ServerTags.isServer(m) && m.state() == MemberState.ALIVE
          && ServerTags.raftAddress(m).isPresent() && !conf.contains(m.name())) {
        return Optional.of(new AddLearner(m.name(), "server alive in gossip at raft "
            + ServerTags.raftAddress(m).get() + " is not in the Raft configuration"));
      }
    }
    return Optional.empty();
  }

  private void track(Configuration conf, long lastIndex, Map<String, RaftRuntime.Progress> progress,
      Map<String, Member> byName, long nowMs) {
    healthySinceMs.keySet().retainAll(conf.learners());
    failedSinceMs.keySet().retainAll(conf.members());
    for (String id : conf.members()) {
      if (id.equals(self)) {
        continue;
      }
      Member m = byName.get(id);
      if (m == null || m.state() == MemberState.FAILED) {
        failedSinceMs.putIfAbsent(id, nowMs);
      } else {
        failedSinceMs.remove(id);
      }
    }
    for (String id : conf.learners()) {
      Member m = byName.get(id);
      RaftRuntime.Progress p = progress.get(id);
      boolean healthy = m != null && m.state() == MemberState.ALIVE && p != null && p.reachable()
          && p.match() >= lastIndex - settings.maxLagEntries();
      if (healthy) {
        healthySinceMs.putIfAbsent(id, nowMs);
      } else {
        healthySinceMs.remove(id);
      }
    }
  }
}
