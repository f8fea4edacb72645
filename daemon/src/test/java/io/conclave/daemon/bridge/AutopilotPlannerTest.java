package io.conclave.daemon.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.raft.Configuration;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.raft.RaftRuntime.Progress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Autopilot's planner driven by hand with a virtual clock: a new server becomes a learner, a learner
 * is promoted only after staying caught up and reachable for the whole stabilization time (a lapse
 * restarts it), a left server is removed at once, a failed one only after the cleanup threshold,
 * and the leader never plans to remove itself.
 */
class AutopilotPlannerTest {
  static final AutopilotSettings SETTINGS =
      new AutopilotSettings(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30), 5);

  static Member server(String name, MemberState state) {
    return new Member(name, "127.0.0.1", 1, Map.of("role", "server", "raft", "127.0.0.1:9"), state, 0);
  }

  final AutopilotPlanner planner = new AutopilotPlanner("a", SETTINGS);

  @Test
  void newServerIsAddedAsLearner() {
    Configuration conf = Configuration.ofVoters(Set.of("a", "b", "c"));
    List<Member> members = List.of(server("a", MemberState.ALIVE), server("b", MemberState.ALIVE),
        server("c", MemberState.ALIVE), server("d", MemberState.ALIVE),
        new Member("client", "127.0.0.1", 1, Map.of("role", "client"), MemberState.ALIVE, 0));
    Optional<AutopilotPlanner.Action> a = planner.plan(conf, 10, Map.of(), members, 0);
    assertThat(a).containsInstanceOf(AutopilotPlanner.AddLearner.class);
    assertThat(a.get().member()).isEqualTo("d");
  }

  @Test
  void learnerIsPromotedOnlyAfterStayingHealthyForTheStabilizationTime() {
    Configuration conf = new Configuration(Set.of("a", "b", "c"), Set.of("d"));
    List<Member> members = List.of(server("a", MemberState.ALIVE), server("b", MemberState.ALIVE),
        server("c", MemberState.ALIVE), server("d", MemberState.ALIVE));
    Map<String, Progress> caughtUp = Map.of("b", new Progress(100, true), "c", new Progress(100, true),
        "d", new Progress(97, true));
    Map<String, Progress> lagging = Map.of("b", new Progress(100, true), "c", new Progress(100, true),
        "d", new Progress(50, true));
    assertThat(planner.plan(conf, 100, caughtUp, members, 0)).isEmpty();
    assertThat(planner.plan(conf, 100, caughtUp, members, 9_999)).isEmpty();
    assertThat(planner.plan(conf, 100, lagging, members, 10_000)).isEmpty(); // lapse: the clock restarts
    assertThat(planner.plan(conf, 100, caughtUp, members, 11_000)).isEmpty();
    assertThat(planner.plan(conf, 100, caughtUp, members, 20_999)).isEmpty();
    Optional<AutopilotPlanner.Action> a = planner.plan(conf, 100, caughtUp, members, 21_000);
    assertThat(a).containsInstanceOf(AutopilotPlanner.Promote.class);
    assertThat(a.get().reason()).contains("stabilization");
  }

  @Test
  void leftIsRemovedAtOnceFailedAfterTheCleanupThresholdNeverSelf() {
    Configuration conf = Configuration.ofVoters(Set.of("a", "b", "c", "d", "e"));
    List<Member> members = List.of(server("a", MemberState.ALIVE), server("b", MemberState.ALIVE),
        server("c", MemberState.ALIVE), server("d", MemberState.FAILED), server("e", MemberState.LEFT));
    Optional<AutopilotPlanner.Action> first = planner.plan(conf, 1, Map.of(), members, 0);
    assertThat(first).containsInstanceOf(AutopilotPlanner.Remove.class);
    assertThat(first.get().member()).isEqualTo("e");
    Configuration without = Configuration.ofVoters(Set.of("a", "b", "c", "d"));
    assertThat(planner.plan(without, 2, Map.of(), members, 29_999)).isEmpty();
    Optional<AutopilotPlanner.Action> later = planner.plan(without, 2, Map.of(), members, 30_000);
    assertThat(later.get().member()).isEqualTo("d");
    assertThat(later.get().reason()).contains("failed in gossip");

    // the leader itself, even if gossip showed it failed somewhere, is never a candidate
    AutopilotPlanner selfish = new AutopilotPlanner("a", SETTINGS);
    List<Member> selfFailed = List.of(server("a", MemberState.FAILED), server("b", MemberState.ALIVE),
        server("c", MemberState.ALIVE));
    Configuration abc = Configuration.ofVoters(Set.of("a", "b", "c"));
    assertThat(selfish.plan(abc, 1, Map.of(), selfFailed, 0)).isEmpty();
    assertThat(selfish.plan(abc, 1, Map.of(), selfFailed, 60_000)).isEmpty();
  }

  @Test
  void aFailedServerThatComesBackIsNotRemoved() {
    Configuration conf = Configuration.ofVoters(Set.of("a", "b", "c"));
    List<Member> failed = List.of(server("a", MemberState.ALIVE), server("b", MemberState.ALIVE), server("c", MemberState.FAILED));
    List<Member> back = List.of(server("a", MemberState.ALIVE), server("b", MemberState.ALIVE), server("c", MemberState.ALIVE));
    assertThat(planner.plan(conf, 1, Map.of(), failed, 0)).isEmpty();
    assertThat(planner.plan(conf, 1, Map.of(), back, 20_000)).isEmpty();
    assertThat(planner.plan(conf, 1, Map.of(), failed, 31_000)).isEmpty(); // the clock restarted at 31 s
  }
}
