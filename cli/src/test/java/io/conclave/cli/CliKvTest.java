package io.conclave.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The kv commands: the requests they build and how they print the answers. The daemon's KV
 * endpoints have not landed yet, so they run against {@link LocalKvServer}, a small in-memory
 * implementation of SPEC.md's KV contract (indexes, CAS, recurse/keys, blocking queries).
 */
class CliKvTest {
  LocalKvServer kv;

  @BeforeEach
  void start() throws IOException {
    kv = new LocalKvServer();
  }

  @AfterEach
  void stop() {
    kv.close();
  }

  CliRun.Result run(String... args) {
    return runWithStdin(new ByteArrayInputStream(new byte[0]), args);
  }

  CliRun.Result runWithStdin(InputStream stdin, String... args) {
    List<String> all = new ArrayList<>(List.of("--http-addr", kv.address()));
    all.addAll(List.of(args));
    return CliRun.run(Map.of(), false, stdin, all.toArray(String[]::new));
  }

  CliRun.Result ok(String... args) {
    CliRun.Result r = run(args);
    assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r).isZero();
    assertThat(r.err()).isEmpty();
    return r;
  }

  @Test
  void putThenGetRoundTripsTheValue() {
    assertThat(ok("kv", "put", "web/config", "hello world").out()).isEqualTo("Success! Data written to: web/config\n");
    assertThat(ok("kv", "get", "web/config").out()).isEqualTo("hello world\n");
    assertThat(kv.requests()).containsExactly("PUT /v1/kv/web/config", "GET /v1/kv/web/config");
  }

  @Test
  void keysWithSpacesPercentAndUnicodeSurvive() {
    String key = "odd/a b%c?d#é";
    ok("kv", "put", key, "v");
    assertThat(kv.entry(key)).isNotNull();
    assertThat(ok("kv", "get", key).out()).isEqualTo("v\n");
  }

  @Test
  void aValueOfDashIsReadFromStandardInputAsBytes() {
    byte[] value = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
    CliRun.Result r = runWithStdin(new ByteArrayInputStream(value), "kv", "put", "doc", "-");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(kv.entry("doc").value()).isEqualTo(value);
  }

  @Test
  void aMissingKeyIsExitOneWithOneLine() {
    CliRun.Result r = run("kv", "get", "nope");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).isEqualTo("conclave: key \"nope\" not found\n");
  }

  @Test
  void casWritesOnlyAtTheExpectedIndex() {
    ok("kv", "put", "--cas", "0", "lock", "first");
    CliRun.Result again = run("kv", "put", "--cas", "0", "lock", "second");
    assertThat(again.exitCode()).isEqualTo(1);
    assertThat(again.err()).isEqualTo("conclave: did not write \"lock\": check-and-set failed, the key exists\n");
    long modifyIndex = kv.entry("lock").modifyIndex();
    CliRun.Result stale = run("kv", "put", "lock", "third", "--cas", String.valueOf(modifyIndex + 5));
    assertThat(stale.exitCode()).isEqualTo(1);
    assertThat(stale.err()).contains("its ModifyIndex is not " + (modifyIndex + 5));
    ok("kv", "put", "lock", "fourth", "--cas", String.valueOf(modifyIndex), "--flags", "42");
    assertThat(new String(kv.entry("lock").value(), StandardCharsets.UTF_8)).isEqualTo("fourth");
    assertThat(kv.entry("lock").flags()).isEqualTo(42);
    assertThat(kv.requests()).contains("PUT /v1/kv/lock?cas=" + modifyIndex + "&flags=42");
  }

  @Test
  void jsonIsTheApisShapeAndFalseIsStillAnError() {
    ok("kv", "put", "--flags", "7", "a", "x");
    JsonNode entries = Http.json(ok("--format", "json", "kv", "get", "a").out());
    assertThat(entries.isArray()).isTrue();
    assertThat(entries.get(0).path("Key").asText()).isEqualTo("a");
    assertThat(entries.get(0).path("Value").asText()).isEqualTo("eA=="); // base64 of "x"
    assertThat(entries.get(0).path("Flags").asLong()).isEqualTo(7);
    assertThat(ok("--format", "json", "kv", "put", "b", "y").out()).isEqualTo("true\n");
    CliRun.Result lost = run("--format", "json", "kv", "put", "--cas", "0", "b", "z");
    assertThat(lost.exitCode()).isEqualTo(1);
    assertThat(lost.out()).isEqualTo("false\n");
    assertThat(lost.err().lines().count()).isEqualTo(1);
  }

  @Test
  void recurseAndKeysListAPrefix() {
    ok("kv", "put", "app/db/host", "h1");
    ok("kv", "put", "app/db/port", "5432");
    ok("kv", "put", "app/name", "shop");
    ok("kv", "put", "other", "x");
    assertThat(ok("kv", "get", "app/", "--recurse").out()).isEqualTo("app/db/host:h1\napp/db/port:5432\napp/name:shop\n");
    assertThat(ok("kv", "get", "app/", "--keys").out()).isEqualTo("app/db/host\napp/db/port\napp/name\n");
    assertThat(ok("kv", "get", "app/", "--keys", "--separator", "/").out()).isEqualTo("app/db/\napp/name\n");
    assertThat(ok("kv", "get", "--keys").out()).isEqualTo("app/db/host\napp/db/port\napp/name\nother\n");
    assertThat(ok("kv", "get", "none/", "--recurse").out()).isEmpty();
    assertThat(ok("--format", "json", "kv", "get", "none/", "--keys").out()).isEqualTo("[]\n");
    assertThat(kv.requests()).contains("GET /v1/kv/app/?recurse", "GET /v1/kv/app/?keys&separator=/");
  }

  @Test
  void deleteOneKeyAPrefixOrAtAnIndex() {
    ok("kv", "put", "t/a", "1");
    ok("kv", "put", "t/b", "2");
    ok("kv", "put", "u", "3");
    assertThat(ok("kv", "delete", "u").out()).isEqualTo("Success! Deleted key: u\n");
    assertThat(kv.entry("u")).isNull();
    long index = kv.entry("t/a").modifyIndex();
    CliRun.Result lost = run("kv", "delete", "t/a", "--cas", String.valueOf(index + 1));
    assertThat(lost.exitCode()).isEqualTo(1);
    assertThat(kv.entry("t/a")).isNotNull();
    ok("kv", "delete", "t/a", "--cas", String.valueOf(index));
    assertThat(kv.entry("t/a")).isNull();
    assertThat(ok("kv", "delete", "t/", "--recurse").out()).isEqualTo("Success! Deleted keys with prefix: t/\n");
    assertThat(kv.entry("t/b")).isNull();
    assertThat(kv.requests()).contains("DELETE /v1/kv/t/?recurse");
  }

  @Test
  void aValueOverTheLimitIsTheDaemonsOneLineError() {
    byte[] big = new byte[LocalKvServer.VALUE_BYTES_MAX + 1];
    CliRun.Result r = runWithStdin(new ByteArrayInputStream(big), "kv", "put", "big", "-");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).startsWith("conclave: the daemon answered 413: Request body(").endsWith("bytes\n");
  }

  /** A {@code kv watch} running on its own thread, its output readable while it runs. */
  final class Watch implements AutoCloseable {
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    final Thread thread;
    volatile int exitCode = -1;

    Watch(String... args) {
      List<String> all = new ArrayList<>(List.of("--http-addr", kv.address(), "kv", "watch"));
      all.addAll(List.of(args));
      CommandLine commandLine = new Cli(Map.of(), false, new ByteArrayInputStream(new byte[0])).commandLine(all.toArray(String[]::new));
      commandLine.setOut(new PrintWriter(out, true));
      commandLine.setErr(new PrintWriter(err, true));
      thread = new Thread(() -> exitCode = commandLine.execute(all.toArray(String[]::new)), "kv-watch");
      thread.start();
    }

    synchronized List<String> lines() {
      synchronized (out.getBuffer()) {
        return out.toString().lines().toList();
      }
    }

    /** Interrupts the watch (as Ctrl-C would end it) and waits for it to return. */
    void stop() {
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() {
      stop();
    }
  }

  @Test
  void watchPrintsTheValueThenEachChangeUntilInterrupted() {
    try (Watch watch = new Watch("cfg/mode")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lines().size() == 1);
      assertThat(watch.lines().get(0)).matches("\\d+  cfg/mode  \\(absent\\)");

      ok("kv", "put", "cfg/mode", "blue");
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lines().size() == 2);
      long blueIndex = kv.entry("cfg/mode").modifyIndex();
      assertThat(watch.lines().get(1)).isEqualTo(blueIndex + "  cfg/mode  blue");

      ok("kv", "put", "unrelated", "x"); // another key: the blocking query answers nothing new
      ok("kv", "put", "cfg/mode", "green");
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lines().size() == 3);
      assertThat(watch.lines().get(2)).isEqualTo(kv.entry("cfg/mode").modifyIndex() + "  cfg/mode  green");

      ok("kv", "delete", "cfg/mode");
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lines().size() == 4);
      assertThat(watch.lines().get(3)).endsWith("  cfg/mode  (absent)");

      watch.stop();
      assertThat(watch.thread.isAlive()).isFalse();
      assertThat(watch.exitCode).isEqualTo(130);
      assertThat(watch.err.toString()).isEmpty();
      assertThat(watch.lines()).hasSize(4);
    }
    // every query after the first blocked on the last index seen
    List<String> watches = kv.requests().stream().filter(r -> r.startsWith("GET /v1/kv/cfg/mode")).toList();
    assertThat(watches.get(0)).isEqualTo("GET /v1/kv/cfg/mode");
    assertThat(watches.subList(1, watches.size())).allMatch(r -> r.matches("GET /v1/kv/cfg/mode\\?index=\\d+&wait=5m"));
  }

  @Test
  void watchInJsonPrintsOneApiArrayPerChange() {
    ok("kv", "put", "j", "1");
    try (Watch watch = new Watch("j", "--format", "json", "--wait", "30s")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lines().size() == 1);
      ok("kv", "put", "j", "2");
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lines().size() == 2);
      assertThat(Http.json(watch.lines().get(0)).get(0).path("Value").asText()).isEqualTo("MQ==");
      assertThat(Http.json(watch.lines().get(1)).get(0).path("Value").asText()).isEqualTo("Mg==");
    }
  }
}
