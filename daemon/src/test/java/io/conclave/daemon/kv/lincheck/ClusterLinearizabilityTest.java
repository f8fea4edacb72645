package io.conclave.daemon.kv.lincheck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.bridge.AutopilotSettings;
import io.conclave.daemon.bridge.ClusterHarness;
import io.conclave.daemon.bridge.ServerTags;
import io.conclave.daemon.raft.RaftLinkFilter;
import io.conclave.daemon.raft.RaftState;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrent HTTP clients doing read, blind write and read-then-cas on three keys against three
 * servers (as {@code conclaved --server} runs them) and a client agent, while a seeded nemesis kills
 * and restarts the leader and partitions servers (Raft frames dropped by a {@link RaftLinkFilter};
 * gossip and HTTP stay up; a kill is {@link ClusterHarness#kill}: no leave, requests in flight drain
 * first). After healing, the cluster must take a write and a linearizable read
 * again, and the whole history must be linearizable per key (Herlihy &amp; Wing §3.3).
 *
 * <p>Outcomes: a 200 is definite; a write or cas answered 500 "No cluster leader" was not applied
 * and is left out of the history; any other failure of a write or cas (504, 503, a lost connection,
 * a timeout) may or may not have applied and is recorded with an unknown outcome; failed reads are
 * left out. {@code -Dlincheck.seed=N} replays the nemesis schedule and the clients' choices (not the
 * thread interleaving, which the machine decides).
 */
class ClusterLinearizabilityTest {
  static final int CLIENTS = 6;
  static final int OPS_PER_CLIENT = 80;
  static final String[] KEYS = {"k0", "k1", "k2"};
  static final String[] SERVERS = {"n1", "n2", "n3"};
  static final String AGENT = "c1";
  /** Clients and nemesis stop by then (from the first operation). */
  static final Duration RUN_MAX = Duration.ofSeconds(45);
  /** One HTTP exchange: the agent's exchange bound (2 x forward bound) plus a server's own bound. */
  static final Duration REQUEST_TIMEOUT = ClusterHarness.FORWARD_BOUND.multipliedBy(4);
  static final long CHECK_STATES_MAX = 5_000_000;
  static final String REPLAY = "mvn -B -pl daemon -am test -Dtest=ClusterLinearizabilityTest"
      + " -Dsurefire.failIfNoSpecifiedTests=false -Dlincheck.seed=";

  @TempDir Path dir;
  ClusterHarness cluster;
  List<Integer> gossipPorts;
  List<String> serverArgs;
  final ObjectMapper json = new ObjectMapper();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  final Network network = new Network();
  /** HTTP port of each running daemon by name; absent while it is down. */
  final Map<String, Integer> httpPorts = new ConcurrentHashMap<>();
  final List<Operation> history = Collections.synchronizedList(new ArrayList<>());
  final List<String> faults = Collections.synchronizedList(new ArrayList<>());
  final AtomicInteger notApplied = new AtomicInteger();
  final AtomicInteger unknown = new AtomicInteger();
  final AtomicInteger readsFailed = new AtomicInteger();
  final CountDownLatch stop = new CountDownLatch(1);
  long t0;

  @AfterEach
  void stopAll() {
    stop.countDown();
    if (cluster != null) {
      cluster.close();
    }
  }

  /**
   * Which Raft frames get through: a set of cut links "from>to" by node name, looked up by the
   * destination's Raft port (a restarted server gets a new one). Unknown destinations pass.
   */
  static final class Network {
    final Map<Integer, String> nameByRaftPort = new ConcurrentHashMap<>();
    final Set<String> cut = ConcurrentHashMap.newKeySet();

    RaftLinkFilter filter() {
      return (from, to) -> {
        String dest = nameByRaftPort.get(to.port());
        return dest == null || !cut.contains(from + ">" + dest);
      };
    }

    /** Drops frames from every node of {@code from} to every node of {@code to} (one way). */
    void cut(List<String> from, List<String> to) {
      for (String a : from) {
        for (String b : to) {
          cut.add(a + ">" + b);
        }
      }
    }

    void partition(List<String> a, List<String> b) {
      cut(a, b);
      cut(b, a);
    }

    void heal() {
      cut.clear();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Cluster

  void startServer(String name) {
    ClusterHarness.Node n = cluster.startKvServer(name, gossipPort(name), serverArgs, network.filter());
    network.nameByRaftPort.put(n.daemon().raftPort(), name);
    httpPorts.put(name, n.httpPort());
  }

  void killServer(String name) {
    ClusterHarness.Node n = cluster.node(name);
    httpPorts.remove(name);
    network.nameByRaftPort.remove(n.daemon().raftPort());
    cluster.kill(name);
  }

  int gossipPort(String name) {
    return gossipPorts.get(Integer.parseInt(name.substring(1)) - 1);
  }

  void startCluster() {
    cluster = new ClusterHarness(dir, new AutopilotSettings(Duration.ofMillis(200), Duration.ofSeconds(1),
        Duration.ofSeconds(60), 50));
    gossipPorts = ClusterHarness.freeGossipPorts(4);
    List<String> join = ClusterHarness.joinArgs(gossipPorts.subList(0, 3));
    serverArgs = new ArrayList<>(List.of("--bootstrap-expect", "3"));
    serverArgs.addAll(join);
    for (String s : SERVERS) {
      startServer(s);
    }
    cluster.awaitLeader();
    ClusterHarness.Node agent = cluster.startClient(AGENT, gossipPorts.get(3), join);
    httpPorts.put(AGENT, agent.httpPort());
    await().atMost(ClusterHarness.WAIT).untilAsserted(() -> {
      assertThat(cluster.getJson(agent, "/v1/health").get("status").asText()).isEqualTo("passing");
      int withHttp = 0;
      for (JsonNode m : cluster.getJson(agent, "/v1/agent/members")) {
        withHttp += m.get("Tags").has(ServerTags.HTTP) ? 1 : 0;
      }
      assertThat(withHttp).isEqualTo(3);
    });
  }

  /** The running server that leads at the highest term, if any. */
  Optional<String> leader() {
    return cluster.servers().stream()
        .map(ClusterHarness::raftState).flatMap(Optional::stream)
        .filter(RaftState::isLeader)
        .max(Comparator.comparingLong(RaftState::term))
        .map(RaftState::id);
  }

  // ---------------------------------------------------------------------------------------------
  // Clients

  long now() {
    return (System.nanoTime() - t0) / 1_000; // microseconds since the start
  }

  /** A value and its ModifyIndex; absent is (null, 0). */
  record Read(String value, long modifyIndex) {}

  HttpResponse<String> send(String daemon, String method, String pathAndQuery, String body)
      throws IOException, InterruptedException {
    // a daemon that is down is asked through the client agent instead (no request to nowhere)
    Integer port = httpPorts.getOrDefault(daemon, httpPorts.get(AGENT));
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .timeout(REQUEST_TIMEOUT).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  /** A read, recorded when it got an answer; empty when it failed (then it is left out). */
  Optional<Read> read(int client, String daemon, String key, boolean consistent) throws InterruptedException {
    long call = now();
    try {
      HttpResponse<String> r = send(daemon, "GET", "/v1/kv/" + key + (consistent ? "?consistent" : ""), null);
      Read read;
      if (r.statusCode() == 404) {
        read = new Read(null, 0);
      } else if (r.statusCode() == 200) {
        JsonNode e = json.readTree(r.body()).get(0);
        String value = e.get("Value").isNull() ? "" : new String(Base64.getDecoder().decode(e.get("Value").asText()), StandardCharsets.UTF_8);
        read = new Read(value, e.get("ModifyIndex").asLong());
      } else {
        readsFailed.incrementAndGet();
        return Optional.empty();
      }
      history.add(Operation.read(client, key, read.value(), call, now()));
      return Optional.of(read);
    } catch (IOException e) {
      readsFailed.incrementAndGet();
      return Optional.empty();
    }
  }

  /**
   * A blind write ({@code expected} empty) or a cas on the ModifyIndex of {@code expected}; records
   * the outcome: definite on 200, left out on 500 "No cluster leader", unknown otherwise. Returns
   * whether it is known to have applied.
   */
  boolean write(int client, String daemon, String key, String value, Optional<Read> expected) throws InterruptedException {
    long call = now();
    String query = expected.map(r -> "?cas=" + r.modifyIndex()).orElse("");
    Operation op;
    HttpResponse<String> r = null;
    try {
      r = send(daemon, "PUT", "/v1/kv/" + key + query, value);
    } catch (IOException e) {
      // lost connection or timeout: it may have applied
    }
    long ret = now();
    if (r != null && r.statusCode() == 500 && r.body().equals("No cluster leader")) {
      notApplied.incrementAndGet();
      return false;
    }
    boolean definite = r != null && r.statusCode() == 200 && (r.body().equals("true") || r.body().equals("false"));
    boolean ok = definite && r.body().equals("true");
    op = expected.isPresent()
        ? Operation.cas(client, key, expected.get().value(), value, ok, call, ret)
        : Operation.write(client, key, value, call, ret);
    if (!definite) {
      unknown.incrementAndGet();
      op = op.unknown();
    }
    history.add(op);
    return ok;
  }

  /** One client bound to one daemon: reads (default and consistent), blind writes, read-then-cas. */
  void client(int id, String daemon, long seed, long deadlineNanos) throws InterruptedException {
    SplittableRandom r = new SplittableRandom(seed + 1 + id); // the nemesis uses seed itself
    for (int i = 0; i < OPS_PER_CLIENT && System.nanoTime() < deadlineNanos; i++) {
      String key = KEYS[r.nextInt(KEYS.length)];
      String value = "c" + id + "-" + i; // unique: a ModifyIndex names one value
      int kind = r.nextInt(10);
      if (kind < 4) {
        read(id, daemon, key, kind == 0);
      } else if (kind < 7) {
        write(id, daemon, key, value, Optional.empty());
      } else {
        Optional<Read> seen = read(id, daemon, key, false);
        if (seen.isPresent()) {
          write(id, daemon, key, value, seen);
        }
      }
      // pacing, not synchronisation: spreads the operations over the nemesis' schedule
      if (stop.await(50 + r.nextInt(200), TimeUnit.MILLISECONDS)) {
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Nemesis

  enum Fault { KILL_LEADER, PARTITION_LEADER, ISOLATE_FOLLOWER, MUTE_LEADER, KILL_FOLLOWER }

  void fault(String what) {
    String line = String.format("%8.3f s %s", now() / 1e6, what);
    faults.add(line);
  }

  /** Waits up to {@code ms} or until the clients are done (pacing between faults); true = done. */
  static boolean pace(CompletableFuture<?> clients, long ms) throws Exception {
    try {
      clients.get(ms, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }

  /** Runs faults on a seeded schedule until the clients finish or the deadline; heals after each. */
  void nemesis(SplittableRandom r, CompletableFuture<?> clients, long deadlineNanos) throws Exception {
    while (System.nanoTime() < deadlineNanos) {
      if (pace(clients, 300 + r.nextInt(700))) {
        return;
      }
      Fault f = Fault.values()[r.nextInt(Fault.values().length)];
      long faultMs = 1000 + r.nextInt(2000);
      Optional<String> leader = leader();
      if (leader.isEmpty()) {
        fault("no leader: fault " + f + " skipped");
        continue;
      }
      List<String> followers = new ArrayList<>(List.of(SERVERS));
      followers.remove(leader.get());
      String follower = followers.get(r.nextInt(followers.size()));
      switch (f) {
        case KILL_LEADER, KILL_FOLLOWER -> {
          String victim = f == Fault.KILL_LEADER ? leader.get() : follower;
          fault("kill " + victim + (f == Fault.KILL_LEADER ? " (leader)" : " (follower)"));
          killServer(victim);
          pace(clients, faultMs);
          startServer(victim);
          fault("restarted " + victim + " from its data dir");
        }
        case PARTITION_LEADER -> {
          fault("partition leader " + leader.get() + " | " + followers);
          network.partition(List.of(leader.get()), followers);
          pace(clients, faultMs);
          network.heal();
          fault("heal");
        }
        case ISOLATE_FOLLOWER -> {
          List<String> rest = new ArrayList<>(List.of(SERVERS));
          rest.remove(follower);
          fault("isolate follower " + follower + " | " + rest);
          network.partition(List.of(follower), rest);
          pace(clients, faultMs);
          network.heal();
          fault("heal");
        }
        case MUTE_LEADER -> {
          fault("one way: leader " + leader.get() + " -> " + followers + " dropped");
          network.cut(List.of(leader.get()), followers);
          pace(clients, faultMs);
          network.heal();
          fault("heal");
        }
        default -> throw new IllegalStateException("unknown fault " + f);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void historyUnderLeaderKillsAndPartitionsIsLinearizable() throws Exception {
    long seed = Long.getLong("lincheck.seed", System.nanoTime());
    startCluster();
    t0 = System.nanoTime();
    long deadline = t0 + RUN_MAX.toNanos();
    // clients spread over every server (whatever role it has now or later) and the client agent
    String[] bound = {SERVERS[0], SERVERS[1], SERVERS[2], AGENT, AGENT, SERVERS[0]};
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    try {
      List<CompletableFuture<Void>> running = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int id = c;
        running.add(CompletableFuture.runAsync(() -> {
          try {
            client(id, bound[id], seed, deadline);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }, pool));
      }
      CompletableFuture<Void> clients = CompletableFuture.allOf(running.toArray(CompletableFuture[]::new));
      nemesis(new SplittableRandom(seed), clients, deadline);
      // every client's time runs out with the deadline; one request may still be under way
      clients.get(RUN_MAX.plus(REQUEST_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS);
    } finally {
      stop.countDown();
      pool.shutdownNow();
    }

    // heal: every server back, then a leader, a write and a linearizable read (liveness)
    network.heal();
    for (String s : SERVERS) {
      if (!httpPorts.containsKey(s)) {
        startServer(s);
      }
    }
    fault("healed, all servers up");
    cluster.awaitLeader();
    AtomicInteger attempt = new AtomicInteger();
    await().atMost(ClusterHarness.WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
        write(99, SERVERS[attempt.get() % 3], "k0", "final-" + attempt.getAndIncrement(), Optional.empty()));
    String last = "final-" + (attempt.get() - 1);
    for (String daemon : List.of(SERVERS[0], SERVERS[1], SERVERS[2], AGENT)) {
      Optional<Read> read = read(99, daemon, "k0", true);
      assertThat(read).as("linearizable read on %s after healing (seed=%d)", daemon, seed).isPresent();
      assertThat(read.get().value()).as("read on %s after the final write (seed=%d)", daemon, seed).isEqualTo(last);
    }

    List<Operation> ops = new ArrayList<>(history);
    LinearizabilityChecker.Result result = LinearizabilityChecker.check(ops, new RegisterModel(), CHECK_STATES_MAX);
    String summary = String.format("seed=%d ops=%d unknown=%d notApplied(500)=%d readsFailed=%d faults:%n  %s",
        seed, ops.size(), unknown.get(), notApplied.get(), readsFailed.get(), String.join("\n  ", faults));
    System.out.println("ClusterLinearizabilityTest " + summary + "\n" + result);
    assertThat(faults).as("the nemesis ran (seed=%d)", seed).isNotEmpty();
    assertThat(result.ok()).as("%s%n%s%nreplay: %s%d", result, summary, REPLAY, seed).isTrue();
  }
}
