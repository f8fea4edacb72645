package io.conclave.daemon.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The bootstrap-expect rule on hand-made gossip views: wait below N fresh servers; at N, the same
 * sorted voters on every server; with more, the N lowest names bootstrap and the rest join later;
 * any server with Raft state means a group exists (never found a second one); clients and failed
 * servers do not count.
 */
class BootstrapPlanTest {

  static Member server(String name, String raftState, MemberState state) {
    return new Member(name, "127.0.0.1", 1, Map.of("role", "server", "raft", "127.0.0.1:2", "raft_state", raftState),
        state, 0);
  }

  static Member fresh(String name) {
    return server(name, "none", MemberState.ALIVE);
  }

  static Member client(String name) {
    return new Member(name, "127.0.0.1", 1, Map.of("role", "client"), MemberState.ALIVE, 0);
  }

  @Test
  void waitsUntilNFreshLiveServersAreSeen() {
    List<Member> view = List.of(fresh("b"), fresh("a"), client("c1"), server("z", "none", MemberState.FAILED));
    BootstrapPlan.Decision d = BootstrapPlan.decide("a", 3, view);
    assertThat(d).isInstanceOf(BootstrapPlan.Wait.class);
    assertThat(d.reason()).contains("2 of 3");
  }

  @Test
  void everyServerComputesTheSameVoters() {
    List<Member> view = new ArrayList<>(List.of(fresh("n3"), fresh("n1"), fresh("n2"), client("c")));
    for (String self : List.of("n1", "n2", "n3")) {
      BootstrapPlan.Decision d = BootstrapPlan.decide(self, 3, view);
      assertThat(d).isInstanceOf(BootstrapPlan.Bootstrap.class);
      assertThat(((BootstrapPlan.Bootstrap) d).voters()).containsExactly("n1", "n2", "n3");
    }
  }

  @Test
  void extraServersLeaveTheLowestNamesToBootstrap() {
    List<Member> view = List.of(fresh("d"), fresh("c"), fresh("b"), fresh("a"));
    assertThat(((BootstrapPlan.Bootstrap) BootstrapPlan.decide("b", 3, view)).voters()).containsExactly("a", "b", "c");
    BootstrapPlan.Decision outsider = BootstrapPlan.decide("d", 3, view);
    assertThat(outsider).isInstanceOf(BootstrapPlan.JoinExisting.class);
    assertThat(outsider.reason()).contains("learner");
  }

  @Test
  void aServerWithRaftStateMeansJoinNeverBootstrap() {
    List<Member> view = List.of(fresh("a"), fresh("b"), fresh("c"), server("old", "member", MemberState.ALIVE));
    BootstrapPlan.Decision d = BootstrapPlan.decide("a", 3, view);
    assertThat(d).isInstanceOf(BootstrapPlan.JoinExisting.class);
    assertThat(d.reason()).contains("old");
    // a failed one does not count: it may be gone for good
    List<Member> deadOld = List.of(fresh("a"), fresh("b"), fresh("c"), server("old", "member", MemberState.FAILED));
    assertThat(BootstrapPlan.decide("a", 3, deadOld)).isInstanceOf(BootstrapPlan.Bootstrap.class);
  }

  @Test
  void expectOneBootstrapsAlone() {
    BootstrapPlan.Decision d = BootstrapPlan.decide("solo", 1, List.of(fresh("solo")));
    assertThat(((BootstrapPlan.Bootstrap) d).voters()).containsExactly("solo");
  }
}
