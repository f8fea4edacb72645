package io.conclave.membership.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.membership.member.MemberState;
import io.conclave.membership.sim.SimCluster.SimMember;
import io.conclave.membership.swim.MemberEvent;
import io.conclave.membership.swim.SwimConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * Whole-cluster properties of the gossip core, proven in the seeded simulator ({@link SimCluster}) with
 * the shipped {@link SwimConfig#lan()} profile. Invariants are checked on every event as the runs go
 * (see {@link Invariants}). {@code -Dsim.swim.scale=soak} (mvn -Psoak) runs bigger clusters for longer;
 * {@code -Dsim.seed=N} replays one seed. A failure prints its seed and the command that replays it.
 */
class SwimSimulationTest {
  static final boolean SOAK = "soak".equals(System.getProperty("sim.swim.scale", "default"));
  static final SwimConfig CONFIG = SwimConfig.lan();

  interface Scenario {
    void run(long seed);
  }

  /** The default seeds (fixed, so CI is repeatable), more under soak, or the one given by -Dsim.seed. */
  static long[] seeds(int normal, int soak) {
    Long one = Long.getLong("sim.seed");
    if (one != null) {
      return new long[] {one};
    }
    return LongStream.rangeClosed(1, SOAK ? soak : normal).toArray();
  }

  static void forEachSeed(String test, long[] seeds, Scenario scenario) {
    for (long seed : seeds) {
      try {
        scenario.run(seed);
      } catch (AssertionError | RuntimeException e) {
        String replay = "mvn -pl membership test -Dtest=SwimSimulationTest#" + test + " -Dsim.seed=" + seed
            + (SOAK ? " -Dsim.swim.scale=soak" : "");
        System.err.println("SIMULATION FAILED seed=" + seed + "; replay with: " + replay);
        throw new AssertionError("seed=" + seed + " (replay: " + replay + "): " + e.getMessage(), e);
      }
    }
  }

  /** Records, per subject of interest, which observers have seen which event kind and when. */
  static final class Watch implements SimCluster.Listener {
    final String subject;
    final MemberEvent.Kind kind;
    final Set<String> observers = new HashSet<>();
    long firstMs = -1;
    long lastMs = -1;

    Watch(String subject, MemberEvent.Kind kind) {
      this.subject = subject;
      this.kind = kind;
    }

    @Override
    public void onEvent(long nowMs, SimMember observer, MemberEvent event) {
      if (event.kind() == kind && event.member().name().equals(subject) && observers.add(observer.name)) {
        if (firstMs < 0) {
          firstMs = nowMs;
        }
        lastMs = nowMs;
      }
    }
  }

  /**
   * The crash-detection bound, from the config: some member probes the victim within 8 probe intervals
   * (P(miss) ≈ e^-8 with ~1 probe of any member per interval cluster-wide), its probe round lasts one
   * interval, the suspicion runs at most its maximum timeout, and the Dead rumor needs a few gossip
   * rounds per factor-of-10 of members.
   */
  static long detectionBoundMs(SwimConfig c, int n) {
    return 9 * c.probeIntervalMs() + c.suspicionMaxMs(n)
        + 10L * c.gossipIntervalMs() * (long) Math.ceil(Math.log10(n + 1.0));
  }

  /**
   * The claim docs/membership.md makes for lan(): with re-probes supplying the confirmations, every
   * member marks a crash failed within the minimum suspicion timeout plus 8 probe intervals.
   */
  static long detectionTargetMs(SwimConfig c, int n) {
    return c.suspicionMinMs(n) + 8 * c.probeIntervalMs();
  }

  // ------------------------------------------------------------------------------------ join

  @Test
  void joinThroughSeedReachesEveryMember() {
    int n = SOAK ? 200 : 50;
    forEachSeed("joinThroughSeedReachesEveryMember", seeds(2, 5), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.setLoss(0.05);
      long formedMs = c.form(n, 50, 120_000);
      assertThat(formedMs).as("%d members joining one by one converge [%s]", n, c.describe()).isPositive();

      // One more member joins a running cluster: its Alive must reach every member by gossip.
      SimMember newcomer = c.addMember("newcomer");
      Watch joined = new Watch("newcomer", MemberEvent.Kind.JOINED);
      c.addListener(joined);
      long start = c.nowMs();
      c.join(newcomer, c.members().get(7));
      boolean all = c.runUntil(start + 10_000, 10, () -> joined.observers.size() == n);
      assertThat(all).as("join seen by %d of %d after %d ms [%s]", joined.observers.size(), n,
          c.nowMs() - start, c.describe()).isTrue();
      assertThat(newcomer.node.liveMemberCount()).isEqualTo(n + 1);
      assertThat(c.invariants.falsePositives).isEmpty();
    });
  }

  @Test
  void joinReachesEveryMemberOfAThousand() {
    forEachSeed("joinReachesEveryMemberOfAThousand", seeds(1, 3), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.formInstantly(1000);
      c.setLoss(0.10);
      c.runFor(5_000);
      SimMember newcomer = c.addMember("newcomer");
      Watch joined = new Watch("newcomer", MemberEvent.Kind.JOINED);
      c.addListener(joined);
      long start = c.nowMs();
      c.join(newcomer, c.members().get(3));
      boolean all = c.runUntil(start + 15_000, 10, () -> joined.observers.size() == 1000);
      assertThat(all).as("join seen by %d of 1000 [%s]", joined.observers.size(), c.describe()).isTrue();
      assertThat(c.invariants.falsePositives).isEmpty();
    });
  }

  // ------------------------------------------------------------------------------------ crash

  void crashScenario(long seed, int n, double loss) {
    SimCluster c = new SimCluster(seed, CONFIG);
    c.formInstantly(n);
    c.setLoss(loss);
    c.runFor(10_000);
    SimMember victim = c.members().get(n / 3);
    Watch failed = new Watch(victim.name, MemberEvent.Kind.FAILED);
    Watch suspected = new Watch(victim.name, MemberEvent.Kind.SUSPECT);
    c.addListener(failed);
    c.addListener(suspected);
    c.crash(victim);
    long crashAt = c.nowMs();
    long bound = detectionBoundMs(CONFIG, n);
    boolean all = c.runUntil(crashAt + bound, 10, () -> c.allRunningSee(victim.name, MemberState.FAILED));
    long tookMs = c.nowMs() - crashAt;
    System.out.printf("crash n=%d loss=%.2f seed=%d: first suspicion %d ms, failed everywhere %d ms (target %d, bound %d)%n",
        n, loss, seed, suspected.firstMs - crashAt, tookMs, detectionTargetMs(CONFIG, n), bound);
    assertThat(all).as("crash of %s seen failed by %d of %d within %d ms [%s]", victim.name,
        failed.observers.size(), n - 1, bound, c.describe()).isTrue();
    assertThat(tookMs).as("detection time vs target [%s]", c.describe())
        .isLessThanOrEqualTo(detectionTargetMs(CONFIG, n));
    assertThat(c.invariants.falsePositives).as("false positives").isEmpty();
  }

  @Test
  void crashedMemberIsFailedEverywhereWithinBound() {
    forEachSeed("crashedMemberIsFailedEverywhereWithinBound", seeds(3, 20), seed -> {
      crashScenario(seed, 10, 0.0);
      crashScenario(seed, 100, 0.0);
      crashScenario(seed, 100, 0.10);
    });
  }

  @Test
  void crashInAThousandMembersIsFailedEverywhereWithinBound() {
    forEachSeed("crashInAThousandMembersIsFailedEverywhereWithinBound", seeds(1, 5), seed -> {
      crashScenario(seed, 1000, 0.0);
      if (SOAK) {
        crashScenario(seed, 1000, 0.10);
      }
    });
  }

  // ------------------------------------------------------------------------------------ loss

  void lossScenario(long seed, int n, long durationMs) {
    SimCluster c = new SimCluster(seed, CONFIG);
    c.formInstantly(n);
    c.setLoss(0.10);
    c.setLatency(1, 9);
    c.runFor(durationMs);
    long accusations = c.members().stream().mapToLong(m -> m.node.counters().suspicionsRaised()).sum();
    long refutations = c.members().stream().mapToLong(m -> m.node.counters().refutations()).sum();
    System.out.printf("10%% loss n=%d %d s seed=%d: %d suspicions raised, %d refutations, %d false positives%n",
        n, durationMs / 1000, seed, accusations, refutations, c.invariants.falsePositives.size());
    assertThat(c.invariants.falsePositives).as("running members marked failed [%s]", c.describe()).isEmpty();
    // The loss was real: live members were suspected, and they refuted in time.
    assertThat(accusations).as("suspicions under loss").isPositive();
    assertThat(refutations).as("refutations under loss").isPositive();
    // Heal: with the loss gone, every view settles on everyone alive.
    c.setLoss(0);
    boolean converged = c.runUntil(c.nowMs() + CONFIG.suspicionMaxMs(n), 100, c::viewsConverged);
    assertThat(converged).as("views converged after the loss stopped [%s]", c.describe()).isTrue();
  }

  @Test
  void noFalsePositivesUnderTenPercentLoss() {
    forEachSeed("noFalsePositivesUnderTenPercentLoss", seeds(2, 5), seed -> {
      lossScenario(seed, 100, SOAK ? 3_600_000 : 300_000);
    });
  }

  @Test
  void noFalsePositivesUnderTenPercentLossInAThousand() {
    forEachSeed("noFalsePositivesUnderTenPercentLossInAThousand", seeds(1, 1), seed ->
        lossScenario(seed, 1000, SOAK ? 1_200_000 : 30_000));
  }

  // ------------------------------------------------------------------------------------ pause

  @Test
  void pausedMemberRefutesAndStaysAlive() {
    int n = 50;
    forEachSeed("pausedMemberRefutesAndStaysAlive", seeds(3, 20), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.formInstantly(n);
      c.setLoss(0.02);
      c.runFor(10_000);
      // A pause shorter than the minimum suspicion timeout (a GC pause, a stalled VM).
      long pauseMs = CONFIG.suspicionMinMs(n) * 3 / 4;
      List<SimMember> paused = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        SimMember m = c.members().get(10 + 10 * i);
        paused.add(m);
        c.pause(m, pauseMs);
        c.runFor(pauseMs + 15_000);
      }
      c.runFor(30_000);
      for (SimMember m : paused) {
        assertThat(c.allRunningSee(m.name, MemberState.ALIVE)).as("%s alive everywhere", m.name).isTrue();
      }
      assertThat(c.invariants.falsePositives).as("paused %d ms [%s]", pauseMs, c.describe()).isEmpty();
      // The pauses were noticed (the test can fail): someone suspected them and they refuted.
      assertThat(paused.stream().mapToLong(m -> m.node.counters().refutations()).sum()).isPositive();
    });
  }

  @Test
  void longPausedMemberIsFailedThenAliveAgain() {
    int n = 30;
    forEachSeed("longPausedMemberIsFailedThenAliveAgain", seeds(2, 10), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.formInstantly(n);
      c.runFor(5_000);
      SimMember m = c.members().get(5);
      c.pause(m, CONFIG.suspicionMaxMs(n) + 20_000);
      c.runFor(CONFIG.suspicionMaxMs(n) + 20_000);
      assertThat(c.allRunningSee(m.name, MemberState.FAILED)).as("failed while paused").isTrue();
      Watch back = new Watch(m.name, MemberEvent.Kind.ALIVE_AGAIN);
      c.addListener(back);
      long resumed = c.nowMs();
      boolean all = c.runUntil(resumed + 30_000, 10, () -> c.allRunningSee(m.name, MemberState.ALIVE));
      assertThat(all).as("alive again everywhere [%s]", c.describe()).isTrue();
      assertThat(back.observers).hasSize(n - 1);
      assertThat(m.node.self().incarnation()).isPositive();
    });
  }

  @Test
  void restartedMemberWithFreshIncarnationIsAliveAgain() {
    // A crashed process restarts with incarnation 0 (nothing persisted): it hears of its own failure
    // in the seed's push-pull reply, refutes above it, and every member takes it back.
    int n = 30;
    forEachSeed("restartedMemberWithFreshIncarnationIsAliveAgain", seeds(2, 10), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.formInstantly(n);
      c.setLoss(0.02);
      c.runFor(5_000);
      SimMember m = c.members().get(6);
      c.crash(m);
      boolean failed = c.runUntil(c.nowMs() + detectionBoundMs(CONFIG, n), 10,
          () -> c.allRunningSee(m.name, MemberState.FAILED));
      assertThat(failed).as("crash detected [%s]", c.describe()).isTrue();
      long failedIncarnation = c.members().get(0).node.member(m.name).orElseThrow().incarnation();
      Watch back = new Watch(m.name, MemberEvent.Kind.ALIVE_AGAIN);
      c.addListener(back);
      c.restart(m, c.members().get(0));
      boolean alive = c.runUntil(c.nowMs() + 10_000, 10, () -> c.allRunningSee(m.name, MemberState.ALIVE)
          && m.node.liveMemberCount() == n);
      assertThat(alive).as("restarted member alive everywhere [%s]", c.describe()).isTrue();
      assertThat(back.observers).hasSize(n - 1);
      assertThat(m.node.self().incarnation()).isGreaterThan(failedIncarnation);
      assertThat(c.invariants.falsePositives).isEmpty();
    });
  }

  // ------------------------------------------------------------------------------------ partition

  @Test
  void viewsConvergeAfterPartitionHeals() {
    int n = SOAK ? 200 : 40;
    forEachSeed("viewsConvergeAfterPartitionHeals", seeds(2, 10), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.formInstantly(n);
      c.setLoss(0.01);
      c.runFor(5_000);
      List<SimMember> left = c.members().subList(0, n / 2);
      List<SimMember> right = c.members().subList(n / 2, n);
      c.partition(List.of(left, right));
      c.runFor(CONFIG.suspicionMaxMs(n) + 20_000);
      assertThat(c.allRunningSee(right.get(0).name, MemberState.ALIVE)).isFalse();
      assertThat(left.get(0).node.liveMemberCount()).isEqualTo(n / 2); // each side failed the other
      c.heal();
      long healedAt = c.nowMs();
      long bound = 2 * CONFIG.reconnectIntervalMs() + CONFIG.suspicionMaxMs(n);
      boolean converged = c.runUntil(healedAt + bound, 100, c::viewsConverged);
      assertThat(converged).as("views converge within %d ms of heal [%s]", bound, c.describe()).isTrue();
      System.out.printf("partition n=%d seed=%d: converged %d ms after heal%n", n, seed, c.nowMs() - healedAt);
    });
  }

  // ------------------------------------------------------------------------------------ leave

  @Test
  void gracefulLeaveIsSeenAsLeftNotFailed() {
    int n = 30;
    forEachSeed("gracefulLeaveIsSeenAsLeftNotFailed", seeds(2, 10), seed -> {
      SimCluster c = new SimCluster(seed, CONFIG);
      c.formInstantly(n);
      c.setLoss(0.05);
      c.runFor(5_000);
      SimMember m = c.members().get(4);
      Watch failed = new Watch(m.name, MemberEvent.Kind.FAILED);
      c.addListener(failed);
      c.leave(m);
      c.runUntil(c.nowMs() + 5_000, 10, m.node::leaveSettled);
      assertThat(m.node.leaveSettled()).isTrue();
      c.crash(m); // the process exits after its leave has been gossiped
      boolean all = c.runUntil(c.nowMs() + 10_000, 10, () -> c.allRunningSee(m.name, MemberState.LEFT));
      assertThat(all).as("left everywhere [%s]", c.describe()).isTrue();
      c.runFor(30_000);
      assertThat(failed.observers).isEmpty();
      assertThat(c.allRunningSee(m.name, MemberState.LEFT)).isTrue();
    });
  }
}
