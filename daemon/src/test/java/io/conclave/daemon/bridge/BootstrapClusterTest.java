package io.conclave.daemon.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.conclave.daemon.raft.RaftState;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Servers started with {@code --bootstrap-expect 3} and one shared join list form one group from
 * gossip alone: the same three voters everywhere, one leader. Killing the leader elects another; a
 * client agent learns the leader from the servers' tags and its health passes; junk datagrams at a
 * gossip port are dropped and counted, and the group keeps one leader.
 */
class BootstrapClusterTest {
  @TempDir Path dir;
  ClusterHarness cluster;

  @AfterEach
  void stopAll() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void expectThreeFormsOneGroupFailsOverAndAClientSeesTheLeader() throws Exception {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), Duration.ofSeconds(1),
        Duration.ofSeconds(60), 50));
    List<Integer> ports = ClusterHarness.freeGossipPorts(4);
    List<String> join = ClusterHarness.joinArgs(ports.subList(0, 3));
    List<String> expect = new ArrayList<>(List.of("--bootstrap-expect", "3"));
    expect.addAll(join);
    ClusterHarness.Node n1 = cluster.startServer("n1", ports.get(0), expect);
    // alone, n1 waits: no Raft yet, health says why
    JsonNode health = cluster.getJson(n1, "/v1/health");
    assertThat(health.get("status").asText()).isEqualTo("critical");
    assertThat(health.get("reason").asText()).contains("bootstrap-expect");
    assertThat(ClusterHarness.raftOf(n1)).isEmpty();
    cluster.startServer("n2", ports.get(1), expect);
    cluster.startServer("n3", ports.get(2), expect);

    RaftState leader = cluster.awaitLeader();
    assertThat(leader.configuration().voters()).containsExactlyInAnyOrder("n1", "n2", "n3");
    // a server that saw another's raft_state=member before it settled started empty (safe: never a
    // second entry 1); it learns the same voters from the leader's log
    await().atMost(ClusterHarness.WAIT).untilAsserted(() -> {
      for (ClusterHarness.Node n : cluster.servers()) {
        RaftState s = ClusterHarness.raftState(n).orElseThrow();
        assertThat(s.configuration().voters()).as(n.name()).isEqualTo(Set.copyOf(leader.configuration().voters()));
      }
    });
    // the operator view names every server with the raft address gossip told it
    await().atMost(ClusterHarness.WAIT).untilAsserted(() -> {
      JsonNode conf = cluster.getJson(cluster.nodes.get(cluster.awaitLeader().id()), "/v1/operator/raft/configuration");
      assertThat(conf.get("Servers")).hasSize(3);
      conf.get("Servers").forEach(s -> assertThat(s.get("Address").asText()).startsWith("127.0.0.1:"));
    });

    // a client agent sees the leader through the servers' tags; its health passes
    ClusterHarness.Node client = cluster.startClient("c1", ports.get(3), join);
    await().atMost(ClusterHarness.WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      JsonNode h = cluster.getJson(client, "/v1/health");
      assertThat(h.get("status").asText()).as(h.toString()).isEqualTo("passing");
      assertThat(h.get("role").asText()).isEqualTo("client");
      assertThat(cluster.get(client, "/v1/status/leader").body())
          .isEqualTo("\"" + cluster.getJson(cluster.nodes.get(cluster.awaitLeader().id()), "/v1/status/leader").asText() + "\"");
    });

    // junk at every gossip port: dropped; the leader stays
    SplittableRandom random = new SplittableRandom(11);
    try (DatagramSocket junk = new DatagramSocket()) {
      for (int i = 0; i < 300; i++) {
        byte[] bytes = new byte[1 + random.nextInt(1400)];
        random.nextBytes(bytes);
        bytes[0] = 1;
        junk.send(new DatagramPacket(bytes, bytes.length, InetAddress.getLoopbackAddress(), ports.get(i % 3)));
      }
    }
    // every target's core dropped junk by reason; the group still has one leader everyone follows.
    // (Not necessarily the same one: with 10 ms ticks on a loaded 2-core machine a starved event
    // loop can cost a leader its term, junk or not.)
    for (int i = 0; i < 3; i++) {
      ClusterHarness.Node n = cluster.nodes.get("n" + (i + 1));
      await().atMost(ClusterHarness.WAIT).untilAsserted(() -> assertThat(
          io.conclave.daemon.testing.Futures.await(n.server().orElseThrow().gossip().counters()).entrySet().stream()
              .filter(e -> e.getKey().startsWith("swim.drop.")).mapToLong(e -> e.getValue()).sum())
          .as(n.name()).isGreaterThan(0));
    }
    RaftState still = cluster.awaitLeader();
    assertThat(still.configuration().voters()).containsExactlyInAnyOrder("n1", "n2", "n3");
    RaftState leaderNow = still;

    // kill the leader: another server leads, and the client follows
    cluster.kill(leaderNow.id());
    RaftState next = cluster.awaitLeader();
    assertThat(next.id()).isNotEqualTo(leaderNow.id());
    assertThat(next.term()).isGreaterThan(leaderNow.term());
    await().atMost(ClusterHarness.WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
        assertThat(cluster.getJson(client, "/v1/health").get("leader").asText())
            .isEqualTo(cluster.getJson(cluster.nodes.get(next.id()), "/v1/status/leader").asText()));
  }

  /**
   * Six servers expecting five, started together from one join list: the five lowest names form the
   * group (every server the same voters), the sixth starts empty and autopilot adds and promotes it.
   */
  @Test
  void expectFiveWithASixthServerBootstrapsTheFiveLowestAndAddsTheSixthLater() {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), Duration.ofMillis(500),
        Duration.ofSeconds(60), 50));
    List<Integer> ports = ClusterHarness.freeGossipPorts(6);
    List<String> args = new ArrayList<>(List.of("--bootstrap-expect", "5"));
    args.addAll(ClusterHarness.joinArgs(ports));
    for (int i = 6; i >= 1; i--) { // highest name first: order must not matter
      cluster.startServer("s" + i, ports.get(i - 1), args);
    }
    await().atMost(ClusterHarness.WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      RaftState l = cluster.awaitLeader();
      assertThat(l.configuration().voters()).containsExactlyInAnyOrder("s1", "s2", "s3", "s4", "s5", "s6");
    });
    RaftState leader = cluster.awaitLeader();
    // s6 was not a founder: autopilot made two changes for it (learner, then voter); had six servers
    // bootstrapped, entry 1 would hold all six and autopilot would have had nothing to do
    assertThat(leader.configuration().learners()).isEmpty();
    assertThat(leader.configurationIndex()).isGreaterThan(1);
    long changes = cluster.servers().stream()
        .mapToLong(n -> n.server().orElseThrow().autopilot() == null ? 0 : n.server().orElseThrow().autopilot().changes())
        .sum();
    assertThat(changes).isGreaterThanOrEqualTo(2);
  }

  /**
   * Full outage: all three servers stop and come back from their data dirs with the same
   * --bootstrap-expect and new Raft ports. They have Raft state, so none bootstraps again (the
   * configuration is the one from before, at the same index); gossip tells them each other's new Raft
   * addresses, and they elect a leader from their logs.
   */
  @Test
  void afterAFullOutageServersRejoinFromTheirLogsAndNeverBootstrapAgain() {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), Duration.ofSeconds(1),
        Duration.ofSeconds(60), 50));
    List<Integer> ports = ClusterHarness.freeGossipPorts(3);
    List<String> args = new ArrayList<>(List.of("--bootstrap-expect", "3"));
    args.addAll(ClusterHarness.joinArgs(ports));
    for (int i = 0; i < 3; i++) {
      cluster.startServer("n" + (i + 1), ports.get(i), args);
    }
    await().atMost(ClusterHarness.WAIT).untilAsserted(() ->
        assertThat(cluster.awaitLeader().configuration().voters()).containsExactlyInAnyOrder("n1", "n2", "n3"));
    RaftState before = cluster.awaitLeader();
    List<String> oldRaftPorts = cluster.servers().stream().map(n -> Integer.toString(n.daemon().raftPort())).toList();
    for (String name : List.of("n1", "n2", "n3")) {
      cluster.kill(name);
    }
    for (int i = 2; i >= 0; i--) {
      cluster.startServer("n" + (i + 1), ports.get(i), args);
    }
    RaftState after = cluster.awaitLeader();
    assertThat(after.term()).isGreaterThan(before.term());
    assertThat(after.configuration()).isEqualTo(before.configuration());
    assertThat(after.configurationIndex()).isEqualTo(before.configurationIndex());
    // the Raft ports changed; the peers came from gossip
    List<String> newRaftPorts = cluster.servers().stream().map(n -> Integer.toString(n.daemon().raftPort())).toList();
    assertThat(newRaftPorts).isNotEqualTo(oldRaftPorts);
  }
}
