package io.conclave.daemon.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.raft.RaftState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import io.conclave.daemon.kv.KvCodec;
import io.conclave.daemon.kv.KvCommand;
import io.conclave.daemon.kv.KvRequest;
import io.conclave.daemon.testing.Futures;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Autopilot on the leader, with short thresholds (stabilization 1 s, cleanup 1.5 s): a fourth server
 * that joins gossip later is added as a learner, then promoted once caught up and stable; when it
 * crashes it is removed after the cleanup threshold (not before it has been failed that long); a
 * leader that leaves gracefully hands over and the new leader removes it at once.
 */
class AutopilotClusterTest {
  static final Duration STABILIZATION = Duration.ofSeconds(1);
  static final Duration CLEANUP = Duration.ofMillis(1500);

  @TempDir Path dir;
  ClusterHarness cluster;

  @AfterEach
  void stopAll() {
    if (cluster != null) {
      cluster.close();
    }
  }

  RaftState awaitConfiguration(List<String> voters, List<String> learners) {
    RaftState[] found = new RaftState[1];
    await().atMost(ClusterHarness.WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
      RaftState l = cluster.awaitLeader();
      assertThat(l.configuration().voters()).containsExactlyInAnyOrderElementsOf(voters);
      assertThat(l.configuration().learners()).containsExactlyInAnyOrderElementsOf(learners);
      found[0] = l;
    });
    return found[0];
  }

  @Test
  void lateServerIsAddedPromotedAndRemovedAfterCrashAndLeaveRemovesAtOnce() {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), STABILIZATION, CLEANUP, 50));
    List<Integer> ports = ClusterHarness.freeGossipPorts(4);
    List<String> join = ClusterHarness.joinArgs(ports);
    List<String> expect = new ArrayList<>(List.of("--bootstrap-expect", "3"));
    expect.addAll(join);
    for (int i = 0; i < 3; i++) {
      cluster.startServer("n" + (i + 1), ports.get(i), expect);
    }
    awaitConfiguration(List.of("n1", "n2", "n3"), List.of());

    // n4 has no --bootstrap-expect: it starts empty; the leader adds it as learner, then promotes it
    long addedAt = System.nanoTime();
    cluster.startServer("n4", ports.get(3), join);
    await().atMost(ClusterHarness.WAIT).pollInterval(Duration.ofMillis(20)).until(() ->
        cluster.awaitLeader().configuration().contains("n4"));
    RaftState learnerSeen = cluster.awaitLeader();
    assertThat(learnerSeen.configuration().isLearner("n4") || learnerSeen.configuration().isVoter("n4")).isTrue();
    awaitConfiguration(List.of("n1", "n2", "n3", "n4"), List.of());
    assertThat(Duration.ofNanos(System.nanoTime() - addedAt)).isGreaterThanOrEqualTo(STABILIZATION);
    await().atMost(ClusterHarness.WAIT).untilAsserted(() ->
        assertThat(ClusterHarness.raftState(cluster.nodes.get("n4")).orElseThrow().leaderId()).isNotEmpty());

    // n4 crashes: removed once gossip has shown it failed for the cleanup threshold
    long killedAt = System.nanoTime();
    cluster.kill("n4");
    awaitConfiguration(List.of("n1", "n2", "n3"), List.of());
    assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isGreaterThanOrEqualTo(CLEANUP);

    // the leader leaves gracefully: it hands over, and the new leader removes it at once
    RaftState leader = cluster.awaitLeader();
    long leftAt = System.nanoTime();
    cluster.leave(leader.id());
    List<String> rest = new ArrayList<>(List.of("n1", "n2", "n3"));
    rest.remove(leader.id());
    RaftState after = awaitConfiguration(rest, List.of());
    assertThat(after.id()).isNotEqualTo(leader.id());
    assertThat(Duration.ofNanos(System.nanoTime() - leftAt)).isLessThan(Duration.ofSeconds(10));
  }

  /**
   * The cleanup threshold agreed through Raft: every server starts with 60 s (longer than this test
   * may wait); {"cleanup_failed_ms":500} written to the KV key conclave/autopilot through the leader
   * reaches every server's autopilot, and a crashed server is then removed within seconds.
   */
  @Test
  void clusterWideThresholdsComeFromTheReplicatedStore() {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), STABILIZATION,
        Duration.ofSeconds(60), 50));
    List<Integer> ports = ClusterHarness.freeGossipPorts(3);
    List<String> expect = new ArrayList<>(List.of("--bootstrap-expect", "3"));
    expect.addAll(ClusterHarness.joinArgs(ports));
    for (int i = 0; i < 3; i++) {
      cluster.startServer("n" + (i + 1), ports.get(i), expect);
    }
    awaitConfiguration(List.of("n1", "n2", "n3"), List.of());
    byte[] command = KvCodec.encode(KvRequest.of(new KvCommand.Set(AutopilotSettings.KEY,
        "{\"cleanup_failed_ms\":500}".getBytes(StandardCharsets.UTF_8), 0)));
    await().atMost(ClusterHarness.WAIT).ignoreExceptions().untilAsserted(() -> Futures.await(
        ClusterHarness.raftOf(cluster.nodes.get(cluster.awaitLeader().id())).orElseThrow().propose(command)));
    await().atMost(ClusterHarness.WAIT).untilAsserted(() -> {
      for (ClusterHarness.Node n : cluster.servers()) {
        assertThat(n.server().orElseThrow().autopilot().settings().cleanupFailed()).as(n.name())
            .isEqualTo(Duration.ofMillis(500));
      }
    });
    String victim = cluster.awaitLeader().id().equals("n3") ? "n2" : "n3";
    cluster.kill(victim);
    List<String> rest = new ArrayList<>(List.of("n1", "n2", "n3"));
    rest.remove(victim);
    awaitConfiguration(rest, List.of());
  }
}
