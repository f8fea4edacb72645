package io.conclave.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.kv.KvHttp;
import io.conclave.daemon.kv.KvStateMachine;
import io.conclave.daemon.kv.LocalKvBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The kv commands against the daemon's own KV endpoints ({@link KvHttp}, the code that serves
 * {@code /v1/kv}) over its in-memory backend ({@link LocalKvBackend}, a group of one), on Vert.x:
 * every kv path in detail, without Raft in the way. The dev daemon's Raft-backed store is covered
 * end to end in {@link CliDevDaemonTest}. Everything is checked through the CLI's own output.
 */
class CliKvDaemonTest {
  Vertx vertx;
  String addr;

  @BeforeEach
  void serve() throws Exception {
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    new KvHttp(vertx, new LocalKvBackend(new KvStateMachine()), "cli-test", new SplittableRandom(1), 16).mount(router);
    HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    addr = "http://127.0.0.1:" + server.actualPort();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  CliRun.Result run(String... args) {
    return runWithStdin(new ByteArrayInputStream(new byte[0]), args);
  }

  CliRun.Result runWithStdin(InputStream stdin, String... args) {
    List<String> all = new ArrayList<>(List.of("--http-addr", addr));
    all.addAll(List.of(args));
    return CliRun.run(Map.of(), false, stdin, all.toArray(String[]::new));
  }

  CliRun.Result ok(String... args) {
    CliRun.Result r = run(args);
    assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r).isZero();
    assertThat(r.err()).isEmpty();
    return r;
  }

  long modifyIndex(String key) {
    return Http.json(ok("--format", "json", "kv", "get", key).out()).get(0).path("ModifyIndex").asLong();
  }

  @Test
  void putGetAndOddKeys() {
    assertThat(ok("kv", "put", "web/config", "hello world").out()).isEqualTo("Success! Data written to: web/config\n");
    assertThat(ok("kv", "get", "web/config").out()).isEqualTo("hello world\n");
    String odd = "odd/a b%c?d#é";
    ok("kv", "put", odd, "v");
    assertThat(ok("kv", "get", odd).out()).isEqualTo("v\n");
    assertThat(ok("kv", "get", "odd/", "--keys").out()).isEqualTo(odd + "\n");
    CliRun.Result missing = run("kv", "get", "nope");
    assertThat(missing.exitCode()).isEqualTo(1);
    assertThat(missing.err()).isEqualTo("conclave: key \"nope\" not found\n");
  }

  @Test
  void stdinValuesFlagsAndJson() {
    byte[] value = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
    CliRun.Result put = runWithStdin(new ByteArrayInputStream(value), "kv", "put", "--flags", "42", "doc", "-");
    assertThat(put.exitCode()).as(put.toString()).isZero();
    com.fasterxml.jackson.databind.JsonNode entry = Http.json(ok("--format", "json", "kv", "get", "doc").out()).get(0);
    assertThat(entry.path("Key").asText()).isEqualTo("doc");
    assertThat(entry.path("Flags").asLong()).isEqualTo(42);
    assertThat(java.util.Base64.getDecoder().decode(entry.path("Value").asText())).isEqualTo(value);
    assertThat(ok("--format", "json", "kv", "put", "b", "y").out()).isEqualTo("true\n");
  }

  @Test
  void casAndDelete() {
    ok("kv", "put", "--cas", "0", "lock", "first");
    CliRun.Result again = run("kv", "put", "--cas", "0", "lock", "second");
    assertThat(again.exitCode()).as(again.toString()).isEqualTo(1);
    assertThat(again.err()).isEqualTo("conclave: did not write \"lock\": check-and-set failed, the key exists\n");
    long index = modifyIndex("lock");
    assertThat(run("kv", "put", "--cas", String.valueOf(index + 7), "lock", "x").exitCode()).isEqualTo(1);
    ok("kv", "put", "--cas", String.valueOf(index), "lock", "third");
    assertThat(ok("kv", "get", "lock").out()).isEqualTo("third\n");
    long third = modifyIndex("lock");
    assertThat(run("kv", "delete", "--cas", String.valueOf(index), "lock").exitCode()).isEqualTo(1);
    assertThat(ok("kv", "delete", "--cas", String.valueOf(third), "lock").out()).isEqualTo("Success! Deleted key: lock\n");
    assertThat(run("kv", "get", "lock").exitCode()).isEqualTo(1);
  }

  @Test
  void prefixes() {
    ok("kv", "put", "app/db/host", "h1");
    ok("kv", "put", "app/db/port", "5432");
    ok("kv", "put", "app/name", "shop");
    ok("kv", "put", "other", "x");
    assertThat(ok("kv", "get", "app/", "--recurse").out()).isEqualTo("app/db/host:h1\napp/db/port:5432\napp/name:shop\n");
    assertThat(ok("kv", "get", "app/", "--keys", "--separator", "/").out()).isEqualTo("app/db/\napp/name\n");
    assertThat(ok("kv", "get", "--keys").out()).isEqualTo("app/db/host\napp/db/port\napp/name\nother\n");
    assertThat(ok("kv", "get", "none/", "--recurse").out()).isEmpty();
    ok("kv", "delete", "app/", "--recurse");
    assertThat(ok("kv", "get", "--keys").out()).isEqualTo("other\n");
  }

  @Test
  void aValueOverTheLimitIsOneLine() {
    CliRun.Result r = runWithStdin(new ByteArrayInputStream(new byte[KvHttp.VALUE_BYTES_MAX + 1]), "kv", "put", "big", "-");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).startsWith("conclave: the daemon answered 413").endsWith("\n");
    assertThat(r.err().lines().count()).isEqualTo(1);
  }

  @Test
  void watchPrintsEachChangeUntilInterrupted() throws InterruptedException {
    // LocalKvBackend gives the first write of an empty store index 1, the same as the floor an empty
    // store reports in X-Consul-Index, so a blocking query at index=1 would miss that first write
    // (reported to the KV owner; a Raft-backed store starts above 1). One write first avoids it here.
    ok("kv", "put", "seed", "0");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] args = {"--http-addr", addr, "kv", "watch", "cfg/mode"};
    CommandLine commandLine = new Cli(Map.of(), false, new ByteArrayInputStream(new byte[0])).commandLine(args);
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int[] exit = {-1};
    Thread watch = new Thread(() -> exit[0] = commandLine.execute(args), "kv-watch");
    watch.start();
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> lines(out).size() == 1);
      assertThat(lines(out).get(0)).matches("\\d+  cfg/mode  \\(absent\\)");
      ok("kv", "put", "cfg/mode", "blue");
      await().atMost(Duration.ofSeconds(10)).until(() -> lines(out).size() == 2);
      assertThat(lines(out).get(1)).isEqualTo(modifyIndex("cfg/mode") + "  cfg/mode  blue");
      ok("kv", "put", "unrelated", "x");
      ok("kv", "put", "cfg/mode", "green");
      await().atMost(Duration.ofSeconds(10)).until(() -> lines(out).size() == 3);
      assertThat(lines(out).get(2)).isEqualTo(modifyIndex("cfg/mode") + "  cfg/mode  green");
      ok("kv", "delete", "cfg/mode");
      await().atMost(Duration.ofSeconds(10)).until(() -> lines(out).size() == 4);
      assertThat(lines(out).get(3)).endsWith("  cfg/mode  (absent)");
    } finally {
      watch.interrupt();
      watch.join(10_000);
    }
    assertThat(watch.isAlive()).isFalse();
    assertThat(exit[0]).isEqualTo(130);
    assertThat(err.toString()).isEmpty();
    assertThat(lines(out)).hasSize(4);
  }

  static List<String> lines(StringWriter out) {
    synchronized (out.getBuffer()) {
      return out.toString().lines().toList();
    }
  }
}
