package io.conclave.daemon.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.conclave.daemon.raft.RaftLinkFilter;
import io.conclave.daemon.raft.RaftState;
import io.conclave.daemon.raft.RaftTiming;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any daemon takes any KV or operator request: three servers as {@code conclaved --server} runs
 * them and a client agent, on loopback. Followers hand writes to the leader over the internal
 * channel and serve linearizable reads after a ReadIndex; the client agent hands everything to a
 * server. The caller always talks to the daemon it chose; nothing is redirected.
 */
class KvForwardingClusterTest {
  @TempDir Path dir;
  ClusterHarness cluster;
  List<Integer> ports;
  List<String> serverArgs;

  @AfterEach
  void stopAll() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** n1..n3 with bootstrap-expect 3 and a client agent c1; returns once all agree on a leader. */
  RaftState startCluster() {
    return startCluster(RaftLinkFilter.ALLOW_ALL, RaftTiming.lan());
  }

  /** As above, every server's outgoing Raft frames passed through {@code filter}. */
  RaftState startCluster(RaftLinkFilter filter, RaftTiming timing) {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), Duration.ofSeconds(1),
        Duration.ofSeconds(60), 50));
    ports = ClusterHarness.freeGossipPorts(4);
    List<String> join = ClusterHarness.joinArgs(ports.subList(0, 3));
    serverArgs = new ArrayList<>(List.of("--bootstrap-expect", "3"));
    serverArgs.addAll(join);
    for (int i = 0; i < 3; i++) {
      cluster.startKvServer("n" + (i + 1), ports.get(i), serverArgs, filter, timing);
    }
    RaftState leader = cluster.awaitLeader();
    ClusterHarness.Node client = cluster.startClient("c1", ports.get(3), join);
    // the client knows the leader, and every server's HTTP address has reached it
    await().atMost(ClusterHarness.WAIT).untilAsserted(() -> {
      assertThat(cluster.getJson(client, "/v1/health").get("status").asText()).isEqualTo("passing");
      JsonNode members = cluster.getJson(client, "/v1/agent/members");
      int withHttp = 0;
      for (JsonNode m : members) {
        withHttp += m.get("Tags").has(ServerTags.HTTP) ? 1 : 0;
      }
      assertThat(withHttp).isEqualTo(3);
    });
    return leader;
  }

  ClusterHarness.Node node(String name) {
    return cluster.nodes.get(name);
  }

  List<ClusterHarness.Node> followersOf(RaftState leader) {
    return cluster.servers().stream().filter(n -> !n.name().equals(leader.id())).toList();
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void followersAndClientAgentsServeTheWholeKvApiAndOperatorRequests() throws Exception {
    RaftState leader = startCluster();
    ClusterHarness.Node f1 = followersOf(leader).get(0);
    ClusterHarness.Node f2 = followersOf(leader).get(1);
    ClusterHarness.Node c1 = node("c1");

    // a write on a follower, read back on the other follower: default, consistent, raw
    HttpResponse<String> put = cluster.send(f1, "PUT", "/v1/kv/app/a", "1");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    assertThat(put.body()).isEqualTo("true");
    HttpResponse<String> read = cluster.send(f2, "GET", "/v1/kv/app/a", null);
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    assertThat(ClusterHarness.JSON.readTree(read.body()).get(0).get("Value").asText()).isEqualTo(b64("1"));
    assertThat(read.headers().firstValue("X-Consul-KnownLeader")).hasValue("true");
    assertThat(cluster.send(f2, "GET", "/v1/kv/app/a?consistent", null).statusCode()).isEqualTo(200);
    assertThat(cluster.send(f2, "GET", "/v1/kv/app/a?raw", null).body()).isEqualTo("1");

    // the client agent: put, get, recurse, keys, a 404 with headers
    assertThat(cluster.send(c1, "PUT", "/v1/kv/app/b", "2").body()).isEqualTo("true");
    assertThat(cluster.send(c1, "GET", "/v1/kv/app/b?raw", null).body()).isEqualTo("2");
    assertThat(ClusterHarness.JSON.readTree(cluster.send(c1, "GET", "/v1/kv/app?recurse", null).body())).hasSize(2);
    assertThat(cluster.send(c1, "GET", "/v1/kv/app/?keys", null).body()).isEqualTo("[\"app/a\",\"app/b\"]");
    HttpResponse<String> missing = cluster.send(c1, "GET", "/v1/kv/app/none", null);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(Long.parseLong(missing.headers().firstValue("X-Consul-Index").orElseThrow())).isPositive();

    // cas through the client agent: applied once, then refused
    long modify = ClusterHarness.JSON.readTree(cluster.send(c1, "GET", "/v1/kv/app/b", null).body()).get(0).get("ModifyIndex").asLong();
    assertThat(cluster.send(c1, "PUT", "/v1/kv/app/b?cas=" + modify, "3").body()).isEqualTo("true");
    assertThat(cluster.send(c1, "PUT", "/v1/kv/app/b?cas=" + modify, "4").body()).isEqualTo("false");
    assertThat(cluster.send(f1, "GET", "/v1/kv/app/b?raw", null).body()).isEqualTo("3");

    // junk at the internal channel is refused with a reason, and nothing changes
    ClusterHarness.Node leaderNode = node(leader.id());
    HttpResponse<String> junk = cluster.send(leaderNode, "POST", "/v1/internal/kv/apply", "\u0007garbage");
    assertThat(junk.statusCode()).isEqualTo(400);
    assertThat(junk.body()).startsWith("Bad forwarded command");
    assertThat(cluster.send(leaderNode, "POST", "/v1/internal/kv/apply", null).statusCode()).isEqualTo(400);
    assertThat(cluster.send(f1, "GET", "/v1/kv/app/b?raw", null).body()).isEqualTo("3");

    // a transaction through the client agent
    HttpResponse<String> txn = cluster.send(c1, "PUT", "/v1/txn",
        "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"app/t\",\"Value\":\"" + b64("t") + "\"}}]");
    assertThat(txn.statusCode()).as(txn.body()).isEqualTo(200);
    assertThat(cluster.send(f2, "GET", "/v1/kv/app/t?raw", null).body()).isEqualTo("t");

    // a blocking query on the client agent is woken by a write on a follower
    HttpResponse<String> before = cluster.send(c1, "GET", "/v1/kv/app/a", null);
    long index = Long.parseLong(before.headers().firstValue("X-Consul-Index").orElseThrow());
    CompletableFuture<HttpResponse<String>> blocked = cluster.http.sendAsync(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + c1.httpPort() + "/v1/kv/app/a?index=" + index + "&wait=30s"))
        .timeout(Duration.ofSeconds(40)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(cluster.send(f2, "PUT", "/v1/kv/app/a", "9").body()).isEqualTo("true");
    HttpResponse<String> woken = blocked.get(20, TimeUnit.SECONDS);
    assertThat(woken.statusCode()).isEqualTo(200);
    assertThat(ClusterHarness.JSON.readTree(woken.body()).get(0).get("Value").asText()).isEqualTo(b64("9"));
    assertThat(Long.parseLong(woken.headers().firstValue("X-Consul-Index").orElseThrow())).isGreaterThan(index);

    // bodies are limited on the client agent too; recursive delete through it
    assertThat(cluster.send(c1, "PUT", "/v1/kv/app/big", "x".repeat(600 * 1024)).statusCode()).isEqualTo(413);
    assertThat(cluster.send(c1, "DELETE", "/v1/kv/app?recurse", null).body()).isEqualTo("true");
    assertThat(cluster.send(f1, "GET", "/v1/kv/app/a", null).statusCode()).isEqualTo(404);

    // operator requests that need the leader: from a follower, then from the client agent
    HttpResponse<String> transfer = cluster.send(f1, "POST", "/v1/operator/raft/transfer-leader?id=" + f2.name(), null);
    assertThat(transfer.statusCode()).as(transfer.body()).isEqualTo(200);
    assertThat(cluster.awaitLeader().id()).isEqualTo(f2.name());
    await().atMost(ClusterHarness.WAIT).untilAsserted(() -> {
      HttpResponse<String> back = cluster.send(c1, "POST", "/v1/operator/raft/transfer-leader?id=" + leader.id(), null);
      assertThat(back.statusCode()).as(back.body()).isEqualTo(200);
    });
    assertThat(cluster.awaitLeader().id()).isEqualTo(leader.id());
    assertThat(cluster.send(f1, "DELETE", "/v1/operator/raft/peer?id=nobody", null).statusCode()).isEqualTo(400);
  }

  @Test
  void leaderKilledMidStreamLosesNoAcknowledgedWriteAndAppliesNoneTwice() throws Exception {
    RaftState leader = startCluster();
    ClusterHarness.Node follower = followersOf(leader).get(0);
    ClusterHarness.Node c1 = node("c1");
    assertThat(cluster.send(follower, "PUT", "/v1/kv/counter", "0").body()).isEqualTo("true");

    List<String> acked = new ArrayList<>();
    int increments = 0;
    int uncertain = 0;
    boolean killed = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    // bounded: 120 writes through the client agent and 120 counter increments through a follower
    for (int i = 0; i < 120 && System.nanoTime() < deadline; i++) {
      if (i == 30) {
        cluster.kill(leader.id()); // no leave, no hand-over: a crash to the others
        killed = true;
      }
      String key = "stream/" + i;
      HttpResponse<String> w = cluster.send(c1, "PUT", "/v1/kv/" + key, "v" + i);
      if (w.statusCode() == 200 && w.body().equals("true")) {
        acked.add(key);
      }
      HttpResponse<String> current = cluster.send(follower, "GET", "/v1/kv/counter", null);
      if (current.statusCode() != 200) {
        continue;
      }
      JsonNode entry = ClusterHarness.JSON.readTree(current.body()).get(0);
      long value = Long.parseLong(new String(Base64.getDecoder().decode(entry.get("Value").asText()), StandardCharsets.UTF_8));
      HttpResponse<String> cas = cluster.send(follower, "PUT", "/v1/kv/counter?cas=" + entry.get("ModifyIndex").asLong(),
          Long.toString(value + 1));
      if (cas.statusCode() == 200 && cas.body().equals("true")) {
        increments++;
      } else if (cas.statusCode() != 200) {
        uncertain++; // 5xx: it may or may not have applied
      }
    }
    assertThat(killed).isTrue();
    RaftState newLeader = cluster.awaitLeader();
    assertThat(newLeader.id()).isNotEqualTo(leader.id());
    assertThat(acked.size()).as("writes acknowledged across the failover").isGreaterThan(60);

    for (ClusterHarness.Node n : cluster.servers()) {
      for (String key : acked) {
        HttpResponse<String> r = cluster.send(n, "GET", "/v1/kv/" + key + "?consistent", null);
        assertThat(r.statusCode()).as(n.name() + " " + key).isEqualTo(200);
      }
    }
    String counter = cluster.send(follower, "GET", "/v1/kv/counter?raw", null).body();
    // every increment acknowledged is there, and none applied twice: a retried cas that applied
    // twice would show more than acknowledged plus uncertain
    assertThat(Long.parseLong(counter)).isBetween((long) increments, (long) increments + uncertain);
  }

  @Test
  void withoutALeaderWithinTheBoundAWriteIs500AndNotApplied() throws Exception {
    RaftState leader = startCluster();
    ClusterHarness.Node survivor = followersOf(leader).get(0);
    String other = followersOf(leader).get(1).name();
    cluster.kill(leader.id());
    cluster.kill(other);

    long start = System.nanoTime();
    HttpResponse<String> put = cluster.send(survivor, "PUT", "/v1/kv/orphan", "x");
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(put.statusCode()).as(put.body()).isEqualTo(500);
    assertThat(put.body()).isEqualTo("No cluster leader");
    assertThat(tookMs).as("waited for a leader up to the bound").isGreaterThanOrEqualTo(
        cluster.settings.forwardBound().toMillis() - 100);
    HttpResponse<String> viaClient = cluster.send(node("c1"), "PUT", "/v1/kv/orphan2", "x");
    assertThat(viaClient.statusCode()).as(viaClient.body()).isIn(500, 504);

    // the others come back from their data dirs: a leader again, and the refused write is absent
    cluster.startKvServer(leader.id(), ports.get(Integer.parseInt(leader.id().substring(1)) - 1), serverArgs);
    cluster.startKvServer(other, ports.get(Integer.parseInt(other.substring(1)) - 1), serverArgs);
    cluster.awaitLeader();
    await().atMost(ClusterHarness.WAIT).untilAsserted(() ->
        assertThat(cluster.send(survivor, "GET", "/v1/kv/orphan", null).statusCode()).isEqualTo(404));
  }

  /**
   * A write the client agent sent to a leader that died without answering, then retried on a server
   * that found no leader within the bound, may still be applied (it is in a follower's log): the
   * agent must answer 504, not the follower's 500 "No cluster leader" (= not applied). Staged with
   * dropped Raft frames: the follower's acks to the leader are lost, so the entry reaches the
   * follower's log but never commits before the leader is killed.
   */
  @Test
  void aWriteTheDeadLeaderMayHaveAppendedIsNever500ThroughTheClientAgent() throws Exception {
    Map<Integer, String> nameByRaftPort = new ConcurrentHashMap<>();
    Set<String> cut = ConcurrentHashMap.newKeySet();
    // a 2 s election timeout: the leader keeps leading (check quorum) while the acks are lost; a
    // 10 s proposal timeout: it cannot answer the write before it is killed
    RaftTiming slow = new RaftTiming(10, 200, 2, Duration.ofSeconds(10), Duration.ofSeconds(5));
    RaftLinkFilter filter = (from, to) -> !cut.contains(from + ">" + nameByRaftPort.get(to.port()));
    RaftState leader = startCluster(filter, slow);
    for (ClusterHarness.Node n : cluster.servers()) {
      nameByRaftPort.put(n.daemon().raftPort(), n.name());
    }
    ClusterHarness.Node follower = followersOf(leader).get(0);
    String other = followersOf(leader).get(1).name();
    cluster.kill(other);
    cut.add(follower.name() + ">" + leader.id()); // the follower's acks are lost
    long lastBefore = ClusterHarness.raftState(follower).orElseThrow().lastIndex();

    CompletableFuture<HttpResponse<String>> put = cluster.http.sendAsync(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + node("c1").httpPort() + "/v1/kv/ghost"))
        .timeout(Duration.ofSeconds(30)).PUT(HttpRequest.BodyPublishers.ofString("boo")).build(),
        HttpResponse.BodyHandlers.ofString());
    await().atMost(ClusterHarness.WAIT).until(() -> ClusterHarness.raftState(follower).orElseThrow().lastIndex() > lastBefore);
    // before the entry could commit or the leader could answer; the request in flight is cut
    cluster.kill(leader.id(), Duration.ofMillis(200));
    HttpResponse<String> answer = put.get(30, TimeUnit.SECONDS);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(504);

    // and it can apply: with the other follower back (the old leader stays down, it may not have
    // synced the entry), the follower holding it has the longer log, so it leads and commits it
    cut.clear();
    cluster.startKvServer(other, ports.get(Integer.parseInt(other.substring(1)) - 1), serverArgs, filter, slow);
    assertThat(cluster.awaitLeader().id()).isEqualTo(follower.name());
    await().atMost(ClusterHarness.WAIT).untilAsserted(() ->
        assertThat(cluster.send(follower, "GET", "/v1/kv/ghost?raw", null).body()).isEqualTo("boo"));
  }
}
