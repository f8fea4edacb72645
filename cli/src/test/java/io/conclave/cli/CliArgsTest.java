package io.conclave.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What needs no daemon: usage errors, help, version, completion, and a daemon that is not there. */
class CliArgsTest {

  /** A loopback port nothing listens on (bound, then released). */
  static String deadAddress() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return "http://127.0.0.1:" + socket.getLocalPort();
    }
  }

  @Test
  void anUnreachableDaemonIsExitThreeWithOneLineThatSaysWhereAndWhatToTry() throws IOException {
    String dead = deadAddress();
    for (String[] command : new String[][] {{"health"}, {"members"}, {"leader"}, {"raft", "peers"},
        {"kv", "get", "a"}, {"kv", "put", "a", "b"}, {"leave"}}) {
      List<String> args = new ArrayList<>(List.of("--http-addr", dead));
      args.addAll(List.of(command));
      CliRun.Result r = CliRun.run(args.toArray(String[]::new));
      assertThat(r.exitCode()).as(String.join(" ", command) + "\n" + r).isEqualTo(3);
      assertThat(r.out()).isEmpty();
      assertThat(r.err().lines().toList()).as(r.toString()).singleElement().asString()
          .startsWith("conclave: cannot reach the daemon at " + dead + " (connection refused)")
          .contains("--http-addr").contains("CONCLAVE_HTTP_ADDR").contains("bin/conclaved --dev");
    }
  }

  @Test
  void badArgumentsAreUsageErrorsWithExitTwo() {
    String[][] cases = {
        {"members", "--bogus"},
        {"--format", "yaml", "members"},
        {"nosuchcommand"},
        {},
        {"kv"},
        {"raft"},
        {"kv", "put", "onlykey"},
        {"kv", "get"},
        {"kv", "get", "/abs"},
        {"kv", "get", "a", "--recurse", "--keys"},
        {"kv", "put", "k", "v", "--cas", "x"},
        {"kv", "put", "k", "v", "--cas", "-1"},
        {"kv", "delete", "k", "--recurse", "--cas", "3"},
        {"kv", "watch", "k", "--wait", "forever"},
        {"--http-addr", "ftp://example.com", "members"},
    };
    for (String[] args : cases) {
      CliRun.Result r = CliRun.run(args);
      assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r).isEqualTo(2);
      assertThat(r.out()).as(String.join(" ", args)).isEmpty();
      assertThat(r.err()).as(String.join(" ", args)).containsAnyOf("Usage: conclave", "Did you mean: conclave");
    }
    assertThat(CliRun.run("membrs").err()).contains("Did you mean: conclave members");
    assertThat(CliRun.run("nosuchcommand").err()).startsWith("Unmatched argument at index 0: 'nosuchcommand'");
    assertThat(CliRun.run("members", "--bogus").err()).startsWith("Unknown option: '--bogus'");
    assertThat(CliRun.run("--format", "yaml", "members").err()).contains("yaml").contains("table, json");
  }

  @Test
  void everyCommandHasHelp() {
    List<String> paths = new ArrayList<>();
    collect(new Cli(java.util.Map.of(), false, System.in).commandLine(), "", paths);
    assertThat(paths).contains("members", "leader", "raft peers", "kv get", "kv put", "kv delete", "kv watch",
        "health", "leave", "completion");
    for (String path : paths) {
      List<String> args = new ArrayList<>(List.of(path.split(" ")));
      args.add("--help");
      CliRun.Result r = CliRun.run(args.toArray(String[]::new));
      assertThat(r.exitCode()).as(path).isZero();
      assertThat(r.out()).as(path).startsWith("Usage: conclave " + path);
      assertThat(r.err()).isEmpty();
    }
    CliRun.Result top = CliRun.run("--help");
    assertThat(top.out()).contains("--http-addr=URL").contains("CONCLAVE_HTTP_ADDR").contains("--format=table|json")
        .contains("Exit codes:");
  }

  private static void collect(CommandLine commandLine, String prefix, List<String> paths) {
    commandLine.getSubcommands().forEach((name, sub) -> {
      String path = prefix.isEmpty() ? name : prefix + " " + name;
      paths.add(path);
      collect(sub, path, paths);
    });
  }

  @Test
  void onlyTheCommandThatRunsIsRegistered() {
    assertThat(Cli.commandName(new String[] {"--http-addr", "x", "--format", "json", "kv", "get"})).isEqualTo("kv");
    assertThat(Cli.commandName(new String[] {"--format=json", "members"})).isEqualTo("members");
    assertThat(Cli.commandName(new String[] {"--help"})).isNull();
    Cli cli = new Cli(java.util.Map.of(), false, System.in);
    assertThat(cli.commandLine(new String[] {"--format", "json", "members"}).getSubcommands()).containsOnlyKeys("members");
    assertThat(cli.commandLine(new String[] {"--help"}).getSubcommands()).hasSize(Cli.COMMANDS.size());
    assertThat(cli.commandLine(new String[] {"completion"}).getSubcommands()).hasSize(Cli.COMMANDS.size());
    assertThat(CliRun.run("--help").out()).contains("members").contains("leader").contains("raft").contains("kv")
        .contains("health").contains("leave").contains("completion");
  }

  @Test
  void versionPrintsTheBuildVersion() {
    CliRun.Result r = CliRun.run("--version");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).startsWith("conclave " + Cli.version() + "\n");
    assertThat(Cli.version()).isNotEqualTo("unknown").doesNotContain("${");
  }

  @Test
  void completionPrintsABashScriptForEveryCommand() {
    CliRun.Result r = CliRun.run("completion");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("complete -F _complete_conclave").contains("members").contains("watch")
        .contains("--http-addr").contains("--recurse");
  }

  @Test
  void theSelectorThreadOfAnHttpClientCanBeStoppedBeforeExit() throws Exception {
    // main() stops it so the JVM's exit does not wait for a thread in native code (docs/cli.md)
    ThreadGroup group = new ThreadGroup("selector-test");
    java.util.concurrent.atomic.AtomicReference<Thread> selector = new java.util.concurrent.atomic.AtomicReference<>();
    Thread runner = new Thread(group, () -> {
      CliRun.run("--http-addr", "http://127.0.0.1:1", "members"); // builds a client in this group
      selector.set(findSelector(group));
      ApiClient.stopSelectorThreads();
    });
    runner.start();
    runner.join(20_000);
    assertThat(selector.get()).as("an HttpClient selector thread in the group").isNotNull();
    assertThat(selector.get().isAlive()).isFalse();
  }

  private static Thread findSelector(ThreadGroup group) {
    Thread[] threads = new Thread[group.activeCount() + 16];
    int count = group.enumerate(threads);
    for (int i = 0; i < count; i++) {
      if (threads[i].getName().endsWith("-SelectorManager")) {
        return threads[i];
      }
    }
    return null;
  }

  @Test
  void binConclaveSaysHowToBuildWhenTheJarIsMissing(@org.junit.jupiter.api.io.TempDir java.nio.file.Path root)
      throws Exception {
    java.nio.file.Path script = java.nio.file.Path.of("..", "bin", "conclave");
    java.nio.file.Files.createDirectories(root.resolve("bin"));
    java.nio.file.Path copy = java.nio.file.Files.copy(script, root.resolve("bin").resolve("conclave"));
    Process process = new ProcessBuilder("bash", copy.toString(), "members").redirectErrorStream(false).start();
    String err = new String(process.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(process.waitFor()).isEqualTo(1);
    assertThat(out).isEmpty();
    assertThat(err.lines().toList()).containsExactly("conclave: cli jar not found under " + root.toRealPath()
        + "/cli/target; build it first: mvn -B -q -DskipTests package");
  }

  @Test
  void keysAreEncodedPerByteAndSlashesKept() {
    assertThat(ApiClient.encodeKey("web/app 1/%?#é")).isEqualTo("web/app%201/%25%3F%23%C3%A9");
    assertThat(ApiClient.encodeKey("a-b_c.d~e")).isEqualTo("a-b_c.d~e");
  }
}
