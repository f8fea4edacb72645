package io.conclave.consensus.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * Runs many seeded simulations of a Raft group under faults and checks Raft's safety properties after
 * every step and liveness after healing (see {@link Simulator}).
 *
 * <p>{@code -Dsim.raft.seeds=N} sets the number of runs (2,000 by default, 100,000 with -Psoak);
 * {@code -Dsim.seed=S} replays one run exactly; {@code -Dsim.base=B} moves the first seed.
 */
class RaftSimulationTest {
  static final String REPLAY = "mvn -B -pl consensus test -Dtest=RaftSimulationTest -Dsim.seed=";

  @Test
  void seededRunsKeepSafetyAndLiveness() {
    String one = System.getProperty("sim.seed");
    if (one != null && !one.isBlank()) {
      long seed = Long.parseLong(one.trim());
      runOne(seed);
      return;
    }
    int count = Integer.getInteger("sim.raft.seeds", 2000);
    long base = Long.getLong("sim.base", 1L);
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    AtomicLong units = new AtomicLong();
    AtomicLong messages = new AtomicLong();
    AtomicLong commits = new AtomicLong();
    LongStream.range(base, base + count).parallel().forEach(seed -> {
      if (failures.size() >= 5) return;
      try {
        Simulator sim = new Simulator(seed, Faults.swarm(seed));
        sim.run();
        units.addAndGet(sim.now);
        messages.addAndGet(sim.messagesDelivered);
        commits.addAndGet(sim.invariants.maxCommitted());
      } catch (AssertionError | RuntimeException e) {
        failures.add("FAILED " + e + "\n  replay: " + REPLAY + seed);
      }
    });
    System.out.printf("raft simulation: %d seeds from %d, %d units, %d messages delivered, %d entries committed%n",
        count, base, units.get(), messages.get(), commits.get());
    assertThat(failures).as("failing seeds (each line has its replay command)").isEmpty();
    // The runs must actually exercise replication, or the safety checks prove nothing.
    assertThat(commits.get()).isGreaterThan(count * 5L);
  }

  private static void runOne(long seed) {
    try {
      new Simulator(seed, Faults.swarm(seed)).run();
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n  replay: " + REPLAY + seed, e);
    }
  }
}
