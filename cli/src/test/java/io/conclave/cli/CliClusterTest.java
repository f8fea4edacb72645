package io.conclave.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.MainStart;
import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftConfiguration;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftServer;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.runtime.RuntimeContext;
import io.vertx.core.Future;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The commands against the daemon's real HTTP API, with the cluster state scripted: a
 * {@link ClusterRuntime} that reports a three-server cluster (n1 leader at term 7, n3 suspect), so
 * the leader marker, the peers table, the leader line and the health verdicts are checked with a
 * leader present, whatever the dev runtime can do today.
 */
class CliClusterTest {
  static final Member N1 = member("n1", "10.0.0.1", MemberState.ALIVE, 3);
  static final Member N2 = member("n2", "10.0.0.2", MemberState.ALIVE, 1);
  static final Member N3 = member("n3", "10.0.0.3", MemberState.SUSPECT, 12);
  static final Member C1 = new Member("c1", "10.0.0.9", 8521, Map.of("role", "client"), MemberState.FAILED, 0);
  static final RaftConfiguration CONFIGURATION = new RaftConfiguration(List.of(
      new RaftServer("id-n2", "n2", "10.0.0.2:8522", false, true),
      new RaftServer("id-n1", "n1", "10.0.0.1:8522", true, true),
      new RaftServer("id-n3", "n3", "10.0.0.3:8522", false, false)), 42);
  static final RaftStatus LEADING = new RaftStatus(RaftRole.LEADER, "id-n1", "10.0.0.1:8522", 7, 40,
      Optional.empty(), "");

  static final ScriptedRuntime RUNTIME = new ScriptedRuntime();
  static Daemon daemon;
  static String addr;

  /** Reports whatever snapshot the test sets. */
  static final class ScriptedRuntime implements ClusterRuntime {
    volatile ClusterSnapshot snapshot;

    @Override
    public Future<Void> start(RuntimeContext ctx) {
      return Future.succeededFuture();
    }

    @Override
    public ClusterView view() {
      return () -> Future.succeededFuture(snapshot);
    }

    @Override
    public ClusterControl control() {
      return new ClusterControl() {
        @Override
        public Future<Void> leave() {
          return Future.succeededFuture();
        }

        @Override
        public Future<Void> transferLeadership(Optional<String> targetId) {
          return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, "scripted"));
        }

        @Override
        public Future<Void> removePeer(String id) {
          return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, "scripted"));
        }
      };
    }

    @Override
    public Future<Void> stop() {
      return Future.succeededFuture();
    }
  }

  static Member member(String name, String address, MemberState state, long incarnation) {
    return new Member(name, address, 8521, Map.of("role", "server", "raft", address + ":8522"), state, incarnation);
  }

  @BeforeAll
  static void startDaemon() {
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> "n1").load("--dev", "--node", "n1",
        "--http-port", "0", "--gossip-port", "0", "--raft-port", "0")).config();
    daemon = MainStart.retryingPortClash(() -> Daemon.start(config, RUNTIME, Duration.ofSeconds(20)));
    addr = "http://127.0.0.1:" + daemon.httpPort();
  }

  @AfterAll
  static void stopDaemon() {
    daemon.stop(Daemon.STOP_PHASE_TIMEOUT);
  }

  @BeforeEach
  void degradedClusterWithALeader() {
    RUNTIME.snapshot = new ClusterSnapshot(N1, List.of(N3, C1, N2, N1), LEADING, Optional.of(CONFIGURATION));
  }

  static CliRun.Result run(boolean terminal, String... args) {
    String[] all = new String[args.length + 2];
    all[0] = "--http-addr";
    all[1] = addr;
    System.arraycopy(args, 0, all, 2, args.length);
    return CliRun.run(Map.of(), terminal, new ByteArrayInputStream(new byte[0]), all);
  }

  @Test
  void membersAreSortedAlignedAndTheLeaderIsMarked() {
    CliRun.Result r = run(false, "members");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo(String.join("\n",
        "Node  Address        Status   Role    Incarnation  Leader",
        "c1    10.0.0.9:8521  failed   client  0",
        "n1    10.0.0.1:8521  alive    server  3            *",
        "n2    10.0.0.2:8521  alive    server  1",
        "n3    10.0.0.3:8521  suspect  server  12") + "\n");
  }

  @Test
  void onATerminalStatusIsColouredAndColumnsStayAligned() {
    CliRun.Result r = run(true, "members");
    assertThat(r.out()).contains(Style.YELLOW + "suspect" + Style.RESET + "  server")
        .contains(Style.RED + "failed" + Style.RESET + "   client")
        .contains(Style.GREEN + "alive" + Style.RESET + "    server");
    assertThat(r.out().replaceAll("\u001b\\[\\d+m", "")).isEqualTo(run(false, "members").out());
  }

  @Test
  void raftPeersListsTheConfiguration() {
    CliRun.Result r = run(false, "raft", "peers");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo(String.join("\n",
        "Node  ID     Address        State     Voter",
        "n2    id-n2  10.0.0.2:8522  follower  true",
        "n1    id-n1  10.0.0.1:8522  leader    true",
        "n3    id-n3  10.0.0.3:8522  follower  false") + "\n");
    CliRun.Result json = run(false, "raft", "peers", "--format", "json");
    assertThat(Http.json(json.out())).isEqualTo(Http.json(Http.get(addr, "/v1/operator/raft/configuration").body()));
    assertThat(Http.json(json.out()).path("Index").asLong()).isEqualTo(42);
  }

  @Test
  void leaderShowsNodeAddressAndTerm() {
    CliRun.Result r = run(false, "leader");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("Node  Address        Term\nn1    10.0.0.1:8522  7\n");
    CliRun.Result json = run(false, "--format", "json", "leader");
    assertThat(json.out().strip()).isEqualTo("{\"Node\":\"n1\",\"Address\":\"10.0.0.1:8522\",\"Term\":7}");
  }

  @Test
  void withoutALeaderLeaderAndPeersFailWithOneLine() {
    RUNTIME.snapshot = new ClusterSnapshot(N2, List.of(N2), new RaftStatus(RaftRole.CANDIDATE, "", "", 9, 40,
        Optional.empty(), ""), Optional.of(CONFIGURATION));
    CliRun.Result leader = run(false, "leader");
    assertThat(leader.exitCode()).isEqualTo(1);
    assertThat(leader.err()).isEqualTo("conclave: no leader known (the daemon reports: no known leader "
        + "(election in progress, term 9))\n");
    CliRun.Result peers = run(false, "raft", "peers");
    assertThat(peers.exitCode()).isEqualTo(1);
    assertThat(peers.err()).isEqualTo("conclave: the daemon answered 500: No cluster leader\n");
    CliRun.Result stale = run(false, "raft", "peers", "--stale");
    assertThat(stale.exitCode()).as(stale.toString()).isZero();
    assertThat(stale.out()).contains("n1    id-n1  10.0.0.1:8522  leader");
    CliRun.Result members = run(false, "members");
    assertThat(members.out()).doesNotContain("*");
  }

  @Test
  void healthExitCodesAreZeroOneTwo() {
    CliRun.Result warning = run(false, "health");
    assertThat(warning.exitCode()).as(warning.toString()).isEqualTo(1);
    assertThat(warning.out()).containsPattern("(?m)^status +warning$").containsPattern("(?m)^reason +1 suspect member$")
        .containsPattern("(?m)^members +2 alive, 1 suspect, 1 failed, 0 left$").containsPattern("(?m)^term +7$");

    RUNTIME.snapshot = new ClusterSnapshot(N1, List.of(N1, N2), LEADING, Optional.of(CONFIGURATION));
    CliRun.Result passing = run(false, "health");
    assertThat(passing.exitCode()).as(passing.toString()).isZero();
    assertThat(passing.out()).containsPattern("(?m)^status +passing$").doesNotContain("reason")
        .containsPattern("(?m)^last_contact +0 ms$");

    RUNTIME.snapshot = new ClusterSnapshot(N1, List.of(N1), RaftStatus.notRunning("raft not running"), Optional.empty());
    CliRun.Result critical = run(true, "health", "--format", "json");
    assertThat(critical.exitCode()).isEqualTo(2);
    assertThat(Http.json(critical.out()).path("reason").asText()).isEqualTo("raft not running");
    assertThat(critical.out()).doesNotContain("\u001b"); // JSON is never coloured
  }
}
