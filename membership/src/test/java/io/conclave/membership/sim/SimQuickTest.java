package io.conclave.membership.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.membership.swim.SwimConfig;
import org.junit.jupiter.api.Test;

class SimQuickTest {
  @Test
  void formAndCrash() {
    int n = Integer.getInteger("q.n", 100);
    long t0 = System.nanoTime();
    SimCluster c = new SimCluster(1, SwimConfig.lan());
    c.setLoss(Double.parseDouble(System.getProperty("q.loss", "0")));
    long formed = 1; c.formInstantly(n); c.runFor(10_000);
    java.util.IntSummaryStatistics st = c.members().stream().mapToInt(m -> m.node.liveMemberCount()).summaryStatistics();
    System.out.println("live counts " + st + " fp=" + c.invariants.falsePositives.size() + " susp=" + c.invariants.suspicionsOfRunningMembers
        + " q=" + c.members().get(0).node.counters().asMap());
    System.out.println("formed in " + formed + " ms sim, wall " + (System.nanoTime() - t0) / 1e6);
    SimCluster.SimMember victim = c.members().get(n / 2);
    c.crash(victim);
    long crashAt = c.nowMs();
    boolean ok = c.runUntil(crashAt + 120_000, 100, () -> c.allRunningSee(victim.name, io.conclave.membership.member.MemberState.FAILED));
    System.out.println("detected=" + ok + " in " + (c.nowMs() - crashAt) + " ms; fp=" + c.invariants.falsePositives.size()
        + " susp=" + c.invariants.suspicionsOfRunningMembers + " wall " + (System.nanoTime() - t0) / 1e6);
    assertThat(formed).isPositive();
  }
}
