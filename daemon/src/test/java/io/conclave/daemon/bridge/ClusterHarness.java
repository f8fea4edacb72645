package io.conclave.daemon.bridge;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.gossip.GossipSettings;
import io.conclave.daemon.kv.KvEntry;
import io.conclave.daemon.kv.KvRuntime;
import io.conclave.daemon.kv.KvStateMachine;
import io.conclave.daemon.raft.RaftClusterRuntime;
import io.conclave.daemon.raft.RaftLinkFilter;
import io.conclave.daemon.raft.RaftPeers;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.raft.RaftState;
import io.conclave.daemon.raft.RaftTiming;
import io.conclave.daemon.raft.StateMachine;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.testing.Futures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Several daemons in one JVM on 127.0.0.1 (each its own Vert.x, real sockets), with fast gossip and
 * autopilot timings. Awaitility runs on the test thread only. {@link #close} stops every daemon.
 */
public final class ClusterHarness implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(20);
  /** How long a request waits for a leader here: a few elections, short enough for a test. */
  public static final Duration FORWARD_BOUND = Duration.ofSeconds(3);
  static final ObjectMapper JSON = new ObjectMapper();

  final Path dir;
  final BridgeSettings settings;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final Map<String, Node> nodes = new LinkedHashMap<>();

  /** One running daemon. */
  public record Node(String name, Daemon daemon, Optional<ServerRuntime> server, Optional<ClientRuntime> client) {
    public int httpPort() {
      return daemon.httpPort();
    }
  }

  public ClusterHarness(Path dir, AutopilotSettings autopilot) {
    this.dir = dir;
    this.settings = new BridgeSettings(GossipSettings.fastLocal(), autopilot, Duration.ofMillis(300),
        Duration.ofMillis(100), FORWARD_BOUND);
  }

  /** Gossip ports free right now (UDP and TCP), for a join list shared by every daemon. */
  /**
   * {@code n} ports free right now for both TCP and UDP on loopback, for tests that must know a
   * gossip port before the daemon binds it. They are drawn below Linux's ephemeral range
   * (32768-60999), so the outgoing connections of this or another suite cannot take them
   * between this call and the bind (an ephemeral port from bind(0) can be).
   */
  public static List<Integer> freeGossipPorts(int n) {
    java.util.SplittableRandom random = new java.util.SplittableRandom();
    List<Integer> ports = new ArrayList<>();
    for (int attempt = 0; ports.size() < n; attempt++) {
      if (attempt > 10_000) {
        throw new IllegalStateException("no free TCP+UDP port pair found in 20000-32000 after 10,000 tries");
      }
      int port = random.nextInt(20_000, 32_000);
      if (ports.contains(port)) {
        continue;
      }
      try (ServerSocket tcp = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
          DatagramSocket udp = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
        ports.add(port);
      } catch (IOException e) {
        // taken on TCP or UDP: try another
      }
    }
    return ports;
  }

  public static List<String> joinArgs(List<Integer> gossipPorts) {
    List<String> args = new ArrayList<>();
    for (int p : gossipPorts) {
      args.add("--join");
      args.add("127.0.0.1:" + p);
    }
    return args;
  }

  DaemonConfig config(String name, boolean server, int gossipPort, List<String> extra) {
    List<String> args = new ArrayList<>(List.of("--node", name, "--http-port", "0", "--gossip-port",
        Integer.toString(gossipPort), "--raft-port", "0"));
    args.add("--data-dir");
    args.add(dir.resolve(name).toString());
    if (server) {
      args.add("--server");
    }
    args.addAll(extra);
    return ((ConfigLoader.Run) new ConfigLoader(() -> name).load(args.toArray(String[]::new))).config();
  }

  Node startServer(String name, int gossipPort, List<String> extra) {
    // the KV store is the application, and carries the cluster-wide autopilot override
    KvStateMachine kv = new KvStateMachine();
    StateMachine app = kv::apply;
    ServerRuntime runtime = new ServerRuntime(new RaftClusterRuntime(new RaftPeers(), Optional.empty(),
        RaftTiming.lan(), app), settings)
        .withClusterSettings(() -> kv.get(AutopilotSettings.KEY).entry().map(KvEntry::value));
    Daemon daemon = Daemon.start(config(name, true, gossipPort, extra), runtime, Duration.ofSeconds(20));
    Node node = new Node(name, daemon, Optional.of(runtime), Optional.empty());
    nodes.put(name, node);
    return node;
  }

  /** A server as {@code conclaved --server} runs it: with the replicated KV store and forwarding. */
  Node startKvServer(String name, int gossipPort, List<String> extra) {
    return startKvServer(name, gossipPort, extra, RaftLinkFilter.ALLOW_ALL);
  }

  /** As above, with this server's outgoing Raft frames passed through {@code linkFilter} (partitions). */
  public Node startKvServer(String name, int gossipPort, List<String> extra, RaftLinkFilter linkFilter) {
    return startKvServer(name, gossipPort, extra, linkFilter, RaftTiming.lan());
  }

  /** As above, with Raft's timing given (e.g. a long election timeout to stage a fault). */
  public Node startKvServer(String name, int gossipPort, List<String> extra, RaftLinkFilter linkFilter,
      RaftTiming timing) {
    KvRuntime runtime = KvRuntime.server(settings, timing, linkFilter);
    Daemon daemon = Daemon.start(config(name, true, gossipPort, extra), runtime, Duration.ofSeconds(20));
    Node node = new Node(name, daemon, Optional.of((ServerRuntime) runtime.inner()), Optional.empty());
    nodes.put(name, node);
    return node;
  }

  public Node startClient(String name, int gossipPort, List<String> extra) {
    ClientRuntime runtime = new ClientRuntime(settings);
    Daemon daemon = Daemon.start(config(name, false, gossipPort, extra), runtime, Duration.ofSeconds(20));
    Node node = new Node(name, daemon, Optional.empty(), Optional.of(runtime));
    nodes.put(name, node);
    return node;
  }

  /** The running daemon called {@code name}, or null. */
  public Node node(String name) {
    return nodes.get(name);
  }

  /** Stops a daemon without a leave: to the others it just goes silent (a crash). */
  public void kill(String name) {
    kill(name, Daemon.STOP_PHASE_TIMEOUT);
  }

  /**
   * As {@link #kill(String)}, each stop phase given {@code phaseTimeout}: a short one cuts requests
   * in flight (the HTTP drain) instead of letting them finish, closer to a crash.
   */
  public void kill(String name, Duration phaseTimeout) {
    Node n = nodes.remove(name);
    n.daemon().stop(phaseTimeout);
  }

  /** A graceful leave, as SIGTERM does it. */
  void leave(String name) {
    Node n = nodes.remove(name);
    n.daemon().leaveAndStop(Duration.ofSeconds(10));
  }

  /** The Raft state of a server whose Raft runs, or empty while it waits to bootstrap. */
  public static Optional<RaftState> raftState(Node n) {
    Optional<RaftRuntime> r = raftOf(n);
    return r.map(rt -> Futures.await(rt.state()));
  }

  static Optional<RaftRuntime> raftOf(Node n) {
    if (n.server().isEmpty()) {
      return Optional.empty();
    }
    var f = n.server().get().raft().raft();
    return f.isComplete() && f.succeeded() ? Optional.of(f.result()) : Optional.empty();
  }

  public List<Node> servers() {
    return nodes.values().stream().filter(n -> n.server().isPresent()).toList();
  }

  /** The one server every running server agrees leads, at one term. */
  public RaftState awaitLeader() {
    RaftState[] found = new RaftState[1];
    await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> {
      List<RaftState> states = new ArrayList<>();
      for (Node n : servers()) {
        Optional<RaftState> s = raftState(n);
        if (s.isEmpty()) {
          return false;
        }
        states.add(s.get());
      }
      List<RaftState> leaders = states.stream().filter(RaftState::isLeader).toList();
      if (leaders.size() != 1) {
        return false;
      }
      RaftState l = leaders.get(0);
      if (!states.stream().allMatch(s -> s.leaderId().equals(l.id()) && s.term() == l.term())) {
        return false;
      }
      found[0] = l;
      return true;
    });
    return found[0];
  }

  /** One request to {@code n}'s HTTP API; {@code body} null for none. */
  HttpResponse<String> send(Node n, String method, String path, String body) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.httpPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(30)).build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<String> get(Node n, String path) {
    return send(n, "GET", path, null);
  }

  public JsonNode getJson(Node n, String path) {
    try {
      return JSON.readTree(get(n, path).body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    new ArrayList<>(nodes.keySet()).forEach(name -> nodes.remove(name).daemon().stop(Daemon.STOP_PHASE_TIMEOUT));
  }
}
