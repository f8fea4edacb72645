package io.conclave.daemon.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.testing.Futures;
import io.vertx.core.Future;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A whole daemon in-process on ephemeral ports: what it serves, how it stops, why it won't start. */
class DaemonTest {
  static final Duration TIMEOUT = Duration.ofSeconds(20);
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final List<Daemon> daemons = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() {
    daemons.forEach(d -> d.stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  /** {@code args} plus node t1 and ephemeral ports, unless {@code args} set them. */
  static DaemonConfig config(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    for (String flag : List.of("--http-port", "--gossip-port", "--raft-port")) {
      if (!all.contains(flag)) {
        all.addAll(List.of(flag, "0"));
      }
    }
    all.addAll(List.of("--node", "t1"));
    return ((ConfigLoader.Run) new ConfigLoader(() -> "t1").load(all.toArray(String[]::new))).config();
  }

  Daemon start(DaemonConfig config) {
    Daemon daemon = Daemon.start(config, new LocalOnlyRuntime(), TIMEOUT);
    daemons.add(daemon);
    return daemon;
  }

  HttpResponse<String> send(Daemon daemon, String method, String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.httpPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(5)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void devDaemonIsHonestlyCriticalUntilTheCoresLand() throws Exception {
    Daemon daemon = start(config("--dev"));
    assertThat(daemon.raftPort()).isPositive();
    HttpResponse<String> health = send(daemon, "GET", "/v1/health");
    assertThat(health.statusCode()).isEqualTo(503);
    assertThat(health.body()).contains("\"status\":\"critical\"").contains("\"reason\":\"raft not running\"")
        .contains("\"node\":\"t1\"");
    assertThat(send(daemon, "GET", "/v1/agent/members").body())
        .contains("\"Name\":\"t1\"").contains("\"Port\":" + daemon.gossipPort()).contains("\"role\":\"server\"");
    assertThat(send(daemon, "POST", "/v1/operator/raft/transfer-leader").statusCode()).isEqualTo(503);

    try (DatagramSocket udp = new DatagramSocket()) {
      byte[] junk = {42, 1, 2, 3};
      udp.send(new DatagramPacket(junk, junk.length, InetAddress.getLoopbackAddress(), daemon.gossipPort()));
    }
    org.awaitility.Awaitility.await().atMost(TIMEOUT).until(() ->
        send(daemon, "GET", "/v1/agent/metrics?format=prometheus").body()
            .contains("conclave_transport_dropped_total{reason=\"bad_version\",transport=\"gossip-udp\"} 1.0"));
    String scrape = send(daemon, "GET", "/v1/agent/metrics?format=prometheus").body();
    assertThat(scrape).as("Vert.x's own metrics are wired").contains("vertx_datagram_bytes_written");
    assertThat(scrape).as("Vert.x's per-request HTTP metrics are off: the daemon's own timers replace them")
        .doesNotContain("vertx_http_server_requests_total")
        .contains("conclave_http_requests_seconds_count{endpoint=\"agent_metrics\",method=\"GET\",status=\"200\"}");
  }

  @Test
  void withEncryptPlainGossipIsDroppedAndTheKeyIsNeverShown() throws Exception {
    String key = java.util.Base64.getEncoder().encodeToString(new byte[32]);
    Daemon daemon = start(config("--dev", "--encrypt", key));
    try (DatagramSocket udp = new DatagramSocket()) {
      byte[] plain = {1, 'h', 'i'};
      udp.send(new DatagramPacket(plain, plain.length, InetAddress.getLoopbackAddress(), daemon.gossipPort()));
    }
    org.awaitility.Awaitility.await().atMost(TIMEOUT).until(() ->
        send(daemon, "GET", "/v1/agent/metrics?format=prometheus").body()
            .contains("conclave_transport_dropped_total{reason=\"plain_rejected\",transport=\"gossip-udp\"} 1.0"));
    String self = send(daemon, "GET", "/v1/agent/self").body();
    assertThat(self).contains("\"encrypt\":true").doesNotContain(key);
  }

  @Test
  void aClientAgentBindsNoRaftPort() throws Exception {
    Daemon daemon = start(config("--data-dir", dir.resolve("client").toString()));
    assertThat(daemon.raftPort()).isEqualTo(-1);
    assertThat(send(daemon, "GET", "/v1/agent/self").body()).contains("\"Server\":false");
    assertThat(Files.exists(dir.resolve("client").resolve(DataDir.LOCK_FILE))).isTrue();
  }

  @Test
  void leaveOverHttpAsksTheOwnerToStop() throws Exception {
    Daemon daemon = start(config("--dev"));
    assertThat(daemon.leaveRequested().isComplete()).isFalse();
    assertThat(send(daemon, "PUT", "/v1/agent/leave").statusCode()).isEqualTo(200);
    Futures.await(daemon.leaveRequested());
    int port = daemon.httpPort();
    daemon.stop(Daemon.STOP_PHASE_TIMEOUT);
    try (ServerSocket again = new ServerSocket()) {
      again.bind(new InetSocketAddress("127.0.0.1", port));
      assertThat(again.isBound()).as("the HTTP port is released").isTrue();
    }
  }

  @Test
  void aTakenHttpPortIsOneClearLine() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      DaemonConfig config = config("--dev", "--http-port", String.valueOf(taken.getLocalPort()));
      assertThatThrownBy(() -> start(config))
          .isInstanceOf(StartException.class)
          .hasMessage("http port 127.0.0.1:" + taken.getLocalPort() + " is already in use");
    }
  }

  @Test
  void aTakenGossipPortIsOneClearLine() throws IOException {
    try (DatagramSocket taken = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
      DaemonConfig config = config("--dev", "--gossip-port", String.valueOf(taken.getLocalPort()));
      assertThatThrownBy(() -> start(config))
          .isInstanceOf(StartException.class)
          .hasMessage("gossip (udp) port 127.0.0.1:" + taken.getLocalPort() + " is already in use");
    }
  }

  @Test
  void unusableDataDirsAreRefused() throws IOException {
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    assertThatThrownBy(() -> start(config("--data-dir", file.resolve("sub").toString())))
        .isInstanceOf(StartException.class)
        .hasMessage("data dir " + file.resolve("sub") + ": " + file + " is a file, not a directory");
    Path shared = dir.resolve("shared");
    start(config("--data-dir", shared.toString()));
    assertThatThrownBy(() -> start(config("--data-dir", shared.toString())))
        .isInstanceOf(StartException.class)
        .hasMessage("data dir " + shared + " is in use by another conclaved (LOCK is locked)");
  }

  @Test
  void aRuntimeThatRefusesToStartStopsTheStartAndReleasesEverything() throws Exception {
    Path data = dir.resolve("data");
    ClusterRuntime refusing = new ClusterRuntime() {
      @Override
      public Future<Void> start(RuntimeContext ctx) {
        return Future.failedFuture(new StartException("data dir " + data + ": corrupt log at index 17"));
      }

      @Override
      public ClusterView view() {
        throw new AssertionError("not started");
      }

      @Override
      public ClusterControl control() {
        throw new AssertionError("not started");
      }

      @Override
      public Future<Void> stop() {
        throw new AssertionError("a runtime that did not start is not stopped");
      }
    };
    DaemonConfig config = config("--server", "--data-dir", data.toString());
    assertThatThrownBy(() -> Daemon.start(config, refusing, TIMEOUT))
        .isInstanceOf(StartException.class)
        .hasMessage("data dir " + data + ": corrupt log at index 17");
    start(config); // the data dir lock and the listeners were released
  }

  @Test
  void theNativeTransportIsOnUnlessTheSwitchSaysFalseAndABadValueKeepsIt() {
    assertThat(Daemon.nativeTransport(null)).isTrue();
    assertThat(Daemon.nativeTransport(" TRUE ")).isTrue();
    assertThat(Daemon.nativeTransport("false")).isFalse();
    assertThat(Daemon.nativeTransport(" False")).isFalse();
    assertThat(Daemon.nativeTransport("no")).isTrue();
    assertThat(Daemon.nativeTransport("")).isTrue();
  }
}
