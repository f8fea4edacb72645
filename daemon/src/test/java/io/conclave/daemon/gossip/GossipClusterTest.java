package io.conclave.daemon.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.bridge.AutopilotSettings;
import io.conclave.daemon.bridge.BridgeSettings;
import io.conclave.daemon.bridge.ClientRuntime;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.testing.Futures;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.nio.file.Path;

/**
 * Three client agents (gossip only, one Vert.x each, real UDP and TCP on 127.0.0.1) started with the
 * same --join list, which names each one's own address too: they skip themselves, find each other,
 * and /v1/agent/members shows all three alive with Consul's status codes. A crashed agent becomes
 * failed (Status 4), one that leaves becomes left (Status 3). Random bytes at a gossip port are
 * dropped and counted, and gossip carries on.
 */
class GossipClusterTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration WAIT = Duration.ofSeconds(20);

  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final List<Daemon> daemons = new ArrayList<>();
  final List<ClientRuntime> runtimes = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() {
    daemons.forEach(d -> d.stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  static List<Integer> freePorts(int n) throws IOException {
    List<Integer> ports = new ArrayList<>();
    while (ports.size() < n) {
      try (ServerSocket tcp = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
           DatagramSocket udp = new DatagramSocket(tcp.getLocalPort(), InetAddress.getLoopbackAddress())) {
        if (!ports.contains(tcp.getLocalPort())) {
          ports.add(tcp.getLocalPort());
        }
      } catch (IOException e) {
        // the UDP port was taken: try another
      }
    }
    return ports;
  }

  Daemon start(String name, int gossipPort, List<Integer> joinPorts) {
    List<String> args = new ArrayList<>(List.of("--node", name, "--http-port", "0", "--gossip-port",
        Integer.toString(gossipPort), "--data-dir", dir.resolve(name).toString()));
    for (int p : joinPorts) {
      args.add("--join");
      args.add("127.0.0.1:" + p);
    }
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> name).load(args.toArray(String[]::new))).config();
    BridgeSettings settings = BridgeSettings.defaults().withGossip(GossipSettings.fastLocal())
        .withAutopilot(AutopilotSettings.defaults());
    ClientRuntime runtime = new ClientRuntime(settings);
    Daemon d = Daemon.start(config, runtime, Duration.ofSeconds(20));
    daemons.add(d);
    runtimes.add(runtime);
    return d;
  }

  JsonNode members(Daemon d) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.httpPort() + "/v1/agent/members"))
        .timeout(Duration.ofSeconds(5)).build();
    return JSON.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
  }

  static int status(JsonNode members, String name) {
    return StreamSupport.stream(members.spliterator(), false).filter(m -> m.get("Name").asText().equals(name))
        .findFirst().map(m -> m.get("Status").asInt()).orElse(-1);
  }

  @Test
  void sharedJoinListFormsOneClusterAndFailuresAndLeavesShow() throws Exception {
    List<Integer> ports = freePorts(4);
    Daemon a = start("a", ports.get(0), ports);
    Daemon b = start("b", ports.get(1), ports);
    Daemon c = start("c", ports.get(2), ports);
    Daemon d = start("d", ports.get(3), ports);
    assertThat(runtimes.get(0).gossip().seeds()).hasSize(3).noneMatch(s -> s.port() == ports.get(0));

    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      for (Daemon x : List.of(a, b, c, d)) {
        JsonNode m = members(x);
        assertThat(m).hasSize(4);
        for (String name : List.of("a", "b", "c", "d")) {
          assertThat(status(m, name)).as("%s seen by %s", name, x.config().node()).isEqualTo(1);
        }
      }
    });
    JsonNode one = StreamSupport.stream(members(a).spliterator(), false)
        .filter(m -> m.get("Name").asText().equals("b")).findFirst().orElseThrow();
    assertThat(one.get("Port").asInt()).isEqualTo(ports.get(1));
    assertThat(one.get("Tags").get("role").asText()).isEqualTo("client");
    assertThat(one.get("State").asText()).isEqualTo("alive");

    // junk at a's gossip port: dropped and counted by the core, never fatal
    SplittableRandom random = new SplittableRandom(7);
    try (DatagramSocket junk = new DatagramSocket()) {
      for (int i = 0; i < 200; i++) {
        byte[] bytes = new byte[1 + random.nextInt(1400)];
        random.nextBytes(bytes);
        bytes[0] = (byte) (i % 3); // plain envelope, bad envelope, sealed envelope without a key
        junk.send(new DatagramPacket(bytes, bytes.length, InetAddress.getLoopbackAddress(), ports.get(0)));
      }
    }
    // plain junk reaches the core, which drops it by reason; bad envelopes stop at the transport
    await().atMost(WAIT).untilAsserted(() -> {
      long coreDrops = Futures.await(runtimes.get(0).gossip().counters()).entrySet().stream()
          .filter(e -> e.getKey().startsWith("swim.drop.")).mapToLong(e -> e.getValue()).sum();
      assertThat(coreDrops).isGreaterThan(0);
      assertThat(a.registry().find("swim.drop").functionCounters()).isNotEmpty();
    });

    // d crashes: failed (4) everywhere; c leaves: left (3) everywhere
    daemons.remove(d);
    d.stop(Daemon.STOP_PHASE_TIMEOUT);
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      for (Daemon x : List.of(a, b, c)) {
        assertThat(status(members(x), "d")).isEqualTo(4);
      }
    });
    daemons.remove(c);
    c.leaveAndStop(Duration.ofSeconds(5));
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      for (Daemon x : List.of(a, b)) {
        assertThat(status(members(x), "c")).isEqualTo(3);
        assertThat(status(members(x), "a")).isEqualTo(1);
        assertThat(status(members(x), "b")).isEqualTo(1);
      }
    });
  }
}
