package io.conclave.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon as a real process (the main classes and logback.xml, not the test ones): SIGTERM and
 * PUT /v1/agent/leave both end it with exit 0 after a graceful stop.
 */
class ProcessTest {
  static final Duration START = Duration.ofSeconds(60);
  static final Pattern STARTED = Pattern.compile("logger=Daemon started .* http=127\\.0\\.0\\.1:(\\d+) ");
  final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    processes.forEach(Process::destroyForcibly);
  }

  @TempDir Path dir;

  /** A started daemon process; its output goes to a file (a pipe's reader races the JDK at exit). */
  record Daemon(Process process, Path output) {
    List<String> lines() {
      try {
        return Files.readAllLines(output, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    Optional<Integer> httpPort() {
      return lines().stream().map(STARTED::matcher).filter(Matcher::find).findFirst()
          .map(m -> Integer.parseInt(m.group(1)));
    }
  }

  Daemon launch(String... args) throws IOException {
    String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !entry.endsWith("test-classes"))
        .collect(Collectors.joining(File.pathSeparator));
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath, Main.class.getName()));
    command.addAll(List.of(args));
    Path output = Files.createTempFile(dir, "conclaved", ".log");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    processes.add(process);
    return new Daemon(process, output);
  }

  static int statusOf(int port, String method, String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(5)).build();
    return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  static int awaitStarted(Daemon daemon) {
    await().atMost(START).until(() -> daemon.httpPort().isPresent() || !daemon.process().isAlive());
    assertThat(daemon.httpPort()).as("started line in %s", daemon.lines()).isPresent();
    return daemon.httpPort().get();
  }

  @Test
  void sigtermIsAGracefulStopWithExitZero() throws Exception {
    Daemon daemon = launch("--dev", "--node", "p1", "--http-port", "0", "--gossip-port", "0", "--raft-port", "0");
    int port = awaitStarted(daemon);
    assertThat(statusOf(port, "GET", "/v1/health")).as("a dev server leads at once").isEqualTo(200);
    daemon.process().destroy(); // SIGTERM
    assertThat(daemon.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(daemon.process().exitValue()).as("output %s", daemon.lines()).isZero();
    assertThat(daemon.lines()).anyMatch(l -> l.contains("signal received signal=SIGTERM"))
        .anyMatch(l -> l.contains("stopped node=p1"));
  }

  @Test
  void theScriptSaysHowToBuildWhenTheJarIsMissing() throws Exception {
    Path script = Path.of(System.getProperty("user.dir")).resolveSibling("bin").resolve("conclaved");
    assertThat(script).as("run from the daemon module").isRegularFile();
    Path bin = Files.createDirectories(dir.resolve("checkout").resolve("bin"));
    Files.copy(script, bin.resolve("conclaved"));
    Path output = dir.resolve("script.out");
    Process process = new ProcessBuilder("bash", bin.resolve("conclaved").toString(), "--version")
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    processes.add(process);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(1);
    assertThat(Files.readAllLines(output)).singleElement().asString()
        .startsWith("conclaved: daemon jar not found under ")
        .endsWith("run mvn -B -q -DskipTests package first");
  }

  @Test
  void leaveOverHttpEndsTheProcessWithExitZero() throws Exception {
    Daemon daemon = launch("--dev", "--node", "p2", "--http-port", "0", "--gossip-port", "0", "--raft-port", "0");
    int port = awaitStarted(daemon);
    assertThat(statusOf(port, "PUT", "/v1/agent/leave")).isEqualTo(200);
    assertThat(daemon.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(daemon.process().exitValue()).as("output %s", daemon.lines()).isZero();
  }

  /** A port number free on 127.0.0.1 for both UDP and TCP right now (gossip uses both). */
  static int freeGossipPort() throws IOException {
    for (int i = 0; i < 20; i++) {
      try (java.net.DatagramSocket udp = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress());
           java.net.ServerSocket tcp = new java.net.ServerSocket(udp.getLocalPort(), 1, java.net.InetAddress.getLoopbackAddress())) {
        return udp.getLocalPort();
      } catch (java.net.BindException taken) {
        // try another
      }
    }
    throw new IOException("no port free for both UDP and TCP");
  }

  static String get(int port, String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build();
    return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body();
  }

  /**
   * Three real server processes sharing one join list bootstrap one group from gossip
   * (--bootstrap-expect 3): every endpoint agrees on the leader, a follower takes a KV write for the leader, and
   * SIGTERM stops each with exit 0.
   */
  @Test
  void threeServerProcessesFormOneGroup() throws Exception {
    int[] gossip = {freeGossipPort(), freeGossipPort(), freeGossipPort()};
    List<String> joins = new ArrayList<>();
    for (int g : gossip) joins.addAll(List.of("--join", "127.0.0.1:" + g));
    List<Daemon> daemons = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      List<String> args = new ArrayList<>(List.of("--server", "--node", "s" + (i + 1), "--bootstrap-expect", "3",
          "--data-dir", Files.createDirectories(dir.resolve("s" + (i + 1))).toString(),
          "--http-port", "0", "--gossip-port", String.valueOf(gossip[i]), "--raft-port", "0"));
      args.addAll(joins);
      daemons.add(launch(args.toArray(String[]::new)));
    }
    int[] http = new int[3];
    for (int i = 0; i < 3; i++) http[i] = awaitStarted(daemons.get(i));
    await().atMost(START).until(() -> {
      for (int port : http) if (statusOf(port, "GET", "/v1/health") != 200) return false;
      return true;
    });
    // The first election may split while connections come up: wait until all three agree.
    await().atMost(START).until(() -> {
      String first = get(http[0], "/v1/status/leader");
      return first.startsWith("\"127.0.0.1:") && first.equals(get(http[1], "/v1/status/leader"))
          && first.equals(get(http[2], "/v1/status/leader"));
    });
    String leader = get(http[0], "/v1/status/leader");
    int leaderHttp = -1;
    for (int port : http) {
      assertThat(get(port, "/v1/status/leader")).isEqualTo(leader);
      assertThat(get(port, "/v1/status/peers")).contains(leader.replace("\"", ""));
      assertThat(get(port, "/v1/agent/members")).contains("\"s1\"").contains("\"s2\"").contains("\"s3\"");
      if (get(port, "/v1/health").contains("\"role\":\"leader\"")) leaderHttp = port;
    }
    assertThat(leaderHttp).isPositive();
    // written on a follower, which hands it to the leader (and retries should leadership move)
    int followerHttp = leaderHttp == http[0] ? http[1] : http[0];
    HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + followerHttp + "/v1/kv/proc"))
        .PUT(HttpRequest.BodyPublishers.ofString("ok")).build();
    assertThat(HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("true");
    assertThat(get(leaderHttp, "/v1/kv/proc?raw")).isEqualTo("ok");
    for (Daemon d : daemons) d.process().destroy(); // SIGTERM: graceful leave
    for (Daemon d : daemons) {
      assertThat(d.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(d.process().exitValue()).as("output %s", d.lines()).isZero();
    }
  }
}
