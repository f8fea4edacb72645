package io.conclave.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The process entry point's exit codes and its one-line failures (without System.exit). */
class MainTest {
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @AfterEach
  void quietLogsAgain() {
    // run() sets the root level from --log-level; give the other tests their quiet default back
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
  }

  int run(String... args) {
    Main main = new Main(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), () -> "m1");
    return main.run(args);
  }

  String errText() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aTakenPortExitsOneWithOneLine() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int code = run("--dev", "--http-port", String.valueOf(taken.getLocalPort()), "--gossip-port", "0", "--raft-port", "0");
      assertThat(code).isEqualTo(Main.EXIT_START_FAILED);
      assertThat(errText().lines().toList()).containsExactly(
          "conclaved: cannot start: http port 127.0.0.1:" + taken.getLocalPort() + " is already in use");
    }
  }

  @Test
  void aCorruptRaftLogExitsOneWithOneLineNamingFileAndOffset(@TempDir Path dir) throws IOException {
    Path raft = Files.createDirectories(dir.resolve("raft"));
    Path segment = raft.resolve("wal-0000000000000001.wal");
    byte[] junk = new byte[64];
    Arrays.fill(junk, (byte) 0x41);
    Files.write(segment, junk);
    int code = run("--server", "--data-dir", dir.toString(), "--http-port", "0", "--gossip-port", "0", "--raft-port", "0");
    assertThat(code).isEqualTo(Main.EXIT_START_FAILED);
    assertThat(errText().lines().toList()).singleElement().asString()
        .startsWith("conclaved: cannot start: corrupt log " + segment + " at byte 0: ");
  }

  @Test
  void badFlagsExitTwoWithOneLine() {
    assertThat(run("--dev", "--http-port", "x", "--what")).isEqualTo(Main.EXIT_BAD_CONFIG);
    assertThat(errText().lines().toList()).singleElement().asString()
        .startsWith("conclaved: invalid configuration: unknown flag '--what'; --http-port: 'x' is not a whole number");
  }

  @Test
  void helpAndVersionExitZero() {
    assertThat(run("--version")).isZero();
    assertThat(run("--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("conclaved ").contains("Usage: conclaved");
    assertThat(errText()).isEmpty();
  }
}
