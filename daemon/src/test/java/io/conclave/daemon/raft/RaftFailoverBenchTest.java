package io.conclave.daemon.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.testing.Futures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A benchmark, not a timed test (skipped unless {@code -Dbench.failover=true}): three server
 * daemons in one JVM on loopback with durable logs; each trial stops the leader at once (its
 * heartbeats end as with kill -9; nothing is handed over) and measures until one of the other two
 * has applied a new proposal, i.e. until a new leader accepts writes. Between trials the stopped
 * server restarts from its data dir and catches up. Prints every trial, the median and the max.
 *
 * <pre>
 * mvn -B -q -pl daemon -am verify -Dtest=RaftFailoverBenchTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dbench.failover=true [-Dbench.trials=20]
 * </pre>
 */
@EnabledIfSystemProperty(named = "bench.failover", matches = "true")
class RaftFailoverBenchTest {
  static final Set<String> VOTERS = Set.of("n1", "n2", "n3");

  final RaftPeers peers = new RaftPeers();
  final Map<String, Daemon> daemons = new LinkedHashMap<>();
  final Map<String, RaftRuntime> rafts = new LinkedHashMap<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() {
    daemons.values().forEach(d -> d.stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  void start(String id) {
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> id).load("--server", "--node", id,
        "--data-dir", dir.resolve(id).toString(), "--http-port", "0", "--gossip-port", "0", "--raft-port", "0"))
        .config();
    RaftClusterRuntime runtime = new RaftClusterRuntime(peers, Optional.of(VOTERS), RaftTiming.lan(), StateMachine.NONE);
    daemons.put(id, Daemon.start(config, runtime, Duration.ofSeconds(20)));
    rafts.put(id, Futures.await(runtime.raft()));
  }

  /** The leader every running server agrees on, once all have applied the same index. */
  String awaitStableLeader() {
    String[] leader = new String[1];
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10)).until(() -> {
      List<RaftState> states = rafts.values().stream().map(r -> Futures.await(r.state())).toList();
      List<RaftState> leaders = states.stream().filter(RaftState::isLeader).toList();
      if (leaders.size() != 1) {
        return false;
      }
      RaftState l = leaders.get(0);
      leader[0] = l.id();
      return states.stream().allMatch(s -> s.leaderId().equals(l.id()) && s.appliedIndex() == l.appliedIndex());
    });
    return leader[0];
  }

  /** True once some running server accepted and applied a proposal. */
  boolean writeAccepted() {
    for (RaftRuntime raft : rafts.values()) {
      if (!Futures.await(raft.state()).isLeader()) {
        continue;
      }
      try {
        raft.propose("w".getBytes(StandardCharsets.UTF_8)).toCompletionStage().toCompletableFuture()
            .get(2, TimeUnit.SECONDS);
        return true;
      } catch (Exception e) {
        return false;
      }
    }
    return false;
  }

  @Test
  void failoverAfterTheLeaderDies() {
    int trials = Integer.getInteger("bench.trials", 20);
    VOTERS.stream().sorted().forEach(this::start);
    List<Long> millis = new ArrayList<>();
    for (int trial = 1; trial <= trials; trial++) {
      String leader = awaitStableLeader();
      assertThat(writeAccepted()).isTrue();
      Daemon victim = daemons.remove(leader);
      rafts.remove(leader);
      long start = System.nanoTime();
      Thread stopper = new Thread(() -> victim.stop(Daemon.STOP_PHASE_TIMEOUT), "stop-" + leader);
      stopper.start(); // the runtime stops first; transports and Vert.x close while we measure
      await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2))
          .until(this::writeAccepted);
      long elapsedMs = (System.nanoTime() - start) / 1_000_000;
      millis.add(elapsedMs);
      System.out.printf("failover trial=%d killed=%s ms=%d%n", trial, leader, elapsedMs);
      await().atMost(Duration.ofSeconds(10)).until(() -> !stopper.isAlive());
      start(leader);
    }
    List<Long> sorted = millis.stream().sorted().toList();
    long median = sorted.size() % 2 == 1 ? sorted.get(sorted.size() / 2)
        : (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
    System.out.printf("failover trials=%d median_ms=%d max_ms=%d min_ms=%d all=%s%n", trials, median,
        sorted.get(sorted.size() - 1), sorted.get(0), millis);
    assertThat(millis).hasSize(trials);
  }
}
