package io.conclave.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.MainStart;
import io.conclave.daemon.runtime.Daemon;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session of docs/cli.md on a real three-server cluster on loopback, each daemon started
 * through the daemon's own start path ({@code --server --bootstrap-expect 3 --join ...}): members,
 * leader, raft peers, kv put and get, the leader killed, leader again, the value still there.
 */
class CliClusterOfThreeTest {
  static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  final Map<String, Daemon> daemons = new LinkedHashMap<>();

  @AfterEach
  void stopAll() {
    daemons.values().forEach(d -> d.stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  static List<Integer> freeGossipPorts(int n) throws IOException {
    List<Integer> ports = new ArrayList<>();
    while (ports.size() < n) {
      try (ServerSocket tcp = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
        int port = tcp.getLocalPort();
        new DatagramSocket(port, InetAddress.getLoopbackAddress()).close(); // free on UDP too
        if (!ports.contains(port)) {
          ports.add(port);
        }
      } catch (IOException e) {
        // the UDP port is taken: try another
      }
    }
    return ports;
  }

  CliRun.Result on(String node, String... args) {
    List<String> all = new ArrayList<>(List.of("--http-addr", "http://127.0.0.1:" + daemons.get(node).httpPort()));
    all.addAll(List.of(args));
    return CliRun.run(all.toArray(String[]::new));
  }

  /** The leader's node name as {@code leader} prints it on {@code node}; empty when it fails. */
  String leaderSeenBy(String node) {
    CliRun.Result r = on(node, "leader");
    if (r.exitCode() != 0) {
      return "";
    }
    return r.out().lines().skip(1).findFirst().orElse("").split(" +")[0];
  }

  @Test
  void membersLeaderPeersKvAndFailover() throws IOException {
    List<Integer> gossip = freeGossipPorts(3);
    for (int i = 0; i < 3; i++) {
      List<String> args = new ArrayList<>(List.of("--server", "--bootstrap-expect", "3",
          "--data-dir", dir.resolve("n" + (i + 1)).toString(), "--gossip-port", gossip.get(i).toString()));
      for (int port : gossip) {
        args.addAll(List.of("--join", "127.0.0.1:" + port));
      }
      daemons.put("n" + (i + 1), MainStart.start("n" + (i + 1), args.toArray(String[]::new)));
    }
    await().atMost(WAIT).until(() -> daemons.keySet().stream().allMatch(n -> on(n, "health").exitCode() == 0));
    // the first election may split: wait until every server names the same leader
    await().atMost(WAIT).until(() -> {
      String l = leaderSeenBy("n1");
      return !l.isEmpty() && l.equals(leaderSeenBy("n2")) && l.equals(leaderSeenBy("n3"));
    });
    String leader = leaderSeenBy("n1");
    assertThat(leader).isIn("n1", "n2", "n3");

    CliRun.Result members = on("n2", "members");
    assertThat(members.exitCode()).as(members.toString()).isZero();
    assertThat(members.out().lines().skip(1).toList()).hasSize(3)
        .allMatch(line -> line.matches("n[123] +127\\.0\\.0\\.1:\\d+ +alive +server +\\d+.*"));
    assertThat(members.out().lines().filter(line -> line.endsWith("*")).toList()).singleElement().asString()
        .startsWith(leader + " ");

    CliRun.Result peers = on("n3", "raft", "peers");
    assertThat(peers.exitCode()).as(peers.toString()).isZero();
    assertThat(peers.out().lines().skip(1).toList()).hasSize(3);
    assertThat(peers.out().lines().filter(line -> line.contains(" leader ")).toList()).singleElement().asString()
        .startsWith(leader + " ");

    // written on a follower (it hands the write to the leader), read on the leader
    String follower = daemons.keySet().stream().filter(n -> !n.equals(leader)).findFirst().orElseThrow();
    CliRun.Result put = on(follower, "kv", "put", "app/mode", "blue");
    assertThat(put.exitCode()).as(put.toString()).isZero();
    assertThat(on(leader, "kv", "get", "app/mode").out()).isEqualTo("blue\n");

    daemons.remove(leader).stop(Daemon.STOP_PHASE_TIMEOUT); // killed: no leave, no hand-over
    String survivor = daemons.keySet().iterator().next();
    await().atMost(WAIT).until(() -> {
      String now = leaderSeenBy(survivor);
      return !now.isEmpty() && !now.equals(leader);
    });
    String newLeader = leaderSeenBy(survivor);
    await().atMost(WAIT).until(() -> on(newLeader, "kv", "get", "app/mode").out().equals("blue\n"));
    assertThat(on(newLeader, "health").exitCode()).isIn(0, 1); // passing, or warning while n-1 is suspect
  }
}
