package io.conclave.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line and config file become one validated DaemonConfig; all problems at once. */
class ConfigLoaderTest {
  private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);

  @TempDir Path dir;

  private final ConfigLoader loader = new ConfigLoader(() -> "host-1");

  private DaemonConfig load(String... args) {
    ConfigLoader.Outcome outcome = loader.load(args);
    assertThat(outcome).isInstanceOf(ConfigLoader.Run.class);
    return ((ConfigLoader.Run) outcome).config();
  }

  private List<String> problems(String... args) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.load(args));
    assertThat(e).as("expected a ConfigException").isNotNull();
    assertThat(e.getMessage()).doesNotContain("\n");
    return e.problems();
  }

  private Path file(String name, String text) throws IOException {
    Path path = dir.resolve(name);
    Files.writeString(path, text);
    return path;
  }

  @Test
  void devUsesTheSpecDefaults() {
    DaemonConfig config = load("--dev");
    assertThat(config.node()).isEqualTo("host-1");
    assertThat(config.bind()).isEqualTo("127.0.0.1");
    assertThat(config.advertise()).isEqualTo("127.0.0.1");
    assertThat(config.httpPort()).isEqualTo(8520);
    assertThat(config.gossipPort()).isEqualTo(8521);
    assertThat(config.raftPort()).isEqualTo(8522);
    assertThat(config.dataDir()).isEmpty();
    assertThat(config.server()).as("dev implies server").isTrue();
    assertThat(config.raftEnabled()).isTrue();
    assertThat(config.bootstrapExpect()).isEmpty();
    assertThat(config.join()).isEmpty();
    assertThat(config.encrypt()).isEmpty();
    assertThat(config.logLevel()).isEqualTo(LogLevel.INFO);
  }

  @Test
  void everyFlagIsParsed() {
    DaemonConfig config = load("--node", "n1", "--bind", "10.0.0.5", "--advertise", "node1.example.com",
        "--http-port", "0", "--gossip-port", "9001", "--raft-port", "9002", "--data-dir", "/var/lib/conclave",
        "--server", "--bootstrap-expect", "3", "--join", "10.0.0.6:9001", "--join", "node3.example.com",
        "--join", "[fe80::1]:7000", "--encrypt", KEY, "--log-level", "DEBUG");
    assertThat(config.node()).isEqualTo("n1");
    assertThat(config.bind()).isEqualTo("10.0.0.5");
    assertThat(config.advertise()).isEqualTo("node1.example.com");
    assertThat(config.httpPort()).isZero();
    assertThat(config.gossipPort()).isEqualTo(9001);
    assertThat(config.raftPort()).isEqualTo(9002);
    assertThat(config.dataDir()).contains(Path.of("/var/lib/conclave"));
    assertThat(config.server()).isTrue();
    assertThat(config.dev()).isFalse();
    assertThat(config.bootstrapExpect()).isEqualTo(OptionalInt.of(3));
    assertThat(config.join()).containsExactly(new JoinAddress("10.0.0.6", 9001),
        new JoinAddress("node3.example.com", 8521), new JoinAddress("fe80::1", 7000));
    assertThat(config.encrypt()).contains(EncryptKey.of(new byte[32]));
    assertThat(config.logLevel()).isEqualTo(LogLevel.DEBUG);
  }

  @Test
  void yamlFileSetsEveryKey() throws IOException {
    Path yaml = file("conclave.yaml", """
        node: n2
        bind: 127.0.0.2
        http_port: 18520
        gossip_port: 18521
        raft_port: 18522
        data_dir: /data/n2
        server: true
        bootstrap_expect: 3
        join: ["127.0.0.1:8521", "127.0.0.3:8521"]
        encrypt: %s
        log_level: warn
        """.formatted(KEY));
    DaemonConfig config = load("--config", yaml.toString());
    assertThat(config.node()).isEqualTo("n2");
    assertThat(config.advertise()).as("defaults to bind").isEqualTo("127.0.0.2");
    assertThat(config.httpPort()).isEqualTo(18520);
    assertThat(config.dataDir()).contains(Path.of("/data/n2"));
    assertThat(config.bootstrapExpect()).isEqualTo(OptionalInt.of(3));
    assertThat(config.join()).hasSize(2);
    assertThat(config.encrypt()).isPresent();
    assertThat(config.logLevel()).isEqualTo(LogLevel.WARN);
  }

  @Test
  void jsonFileIsReadAsJson() throws IOException {
    Path json = file("conclave.json", """
        {"node": "j1", "dev": true, "http_port": 0, "join": "127.0.0.1:8521"}
        """);
    DaemonConfig config = load("--config", json.toString());
    assertThat(config.node()).isEqualTo("j1");
    assertThat(config.dev()).isTrue();
    assertThat(config.httpPort()).isZero();
    assertThat(config.join()).containsExactly(new JoinAddress("127.0.0.1", 8521));
  }

  @Test
  void flagsWinOverTheFile() throws IOException {
    Path yaml = file("c.yaml", """
        node: from-file
        http_port: 1111
        server: true
        data_dir: /file
        join: [a.example.com:1, b.example.com:2]
        """);
    DaemonConfig config = load("--config", yaml.toString(), "--node", "from-flag", "--server=false",
        "--join", "c.example.com:3");
    assertThat(config.node()).isEqualTo("from-flag");
    assertThat(config.httpPort()).as("file value kept where no flag").isEqualTo(1111);
    assertThat(config.server()).as("--server=false overrides the file").isFalse();
    assertThat(config.join()).as("flags replace the file's list")
        .containsExactly(new JoinAddress("c.example.com", 3));
  }

  @Test
  void unknownFileKeyIsRefusedWithASuggestion() throws IOException {
    Path yaml = file("c.yaml", "dev: true\nhttp-port: 1\ncolour: blue\n");
    List<String> problems = problems("--config", yaml.toString());
    assertThat(problems).hasSize(2);
    assertThat(problems.get(0)).contains("unknown key 'http-port'").contains("did you mean 'http_port'?");
    assertThat(problems.get(1)).contains("unknown key 'colour'").contains("known keys:");
  }

  @Test
  void everyProblemIsReportedTogether() {
    List<String> problems = problems("--http-port", "70000", "--gossip-port", "x", "--raft-port", "-1",
        "--bootstrap-expect", "3", "--encrypt", "c2hvcnQ=", "--log-level", "loud", "--node", "bad name",
        "--join", "host:0", "--frobnicate");
    assertThat(problems).containsExactly(
        "unknown flag '--frobnicate'",
        "--node: 'bad name' is not a node name (1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
        "--http-port: 70000 is not a port (0-65535)",
        "--gossip-port: 'x' is not a whole number",
        "--raft-port: -1 is not a port (0-65535)",
        "--data-dir is required (or use --dev for an in-memory playground)",
        "--bootstrap-expect: needs --server (only servers form the Raft group)",
        "--join: 'host:0' has a port outside 1-65535",
        "--encrypt: encrypt key is 5 bytes, must be 32 (want base64 of 32 bytes, e.g. from: openssl rand -base64 32)",
        "--log-level: 'loud' is not one of error, warn, info, debug");
  }

  @Test
  void theEncryptKeyNeverAppearsInMessages() {
    String notBase64 = "s3cr3t-not-base64!!";
    List<String> problems = problems("--dev", "--encrypt", notBase64);
    assertThat(problems).singleElement().asString().contains("not valid base64").doesNotContain(notBase64);
    assertThat(EncryptKey.of(new byte[32]).toString()).doesNotContain("AAAA").contains("redacted");
  }

  @Test
  void bootstrapExpectIsOneToSevenAndNotWithDev() {
    assertThat(problems("--server", "--data-dir", "/d", "--bootstrap-expect", "0"))
        .containsExactly("--bootstrap-expect: 0 is not in 1..7");
    assertThat(problems("--server", "--data-dir", "/d", "--bootstrap-expect", "8"))
        .containsExactly("--bootstrap-expect: 8 is not in 1..7");
    assertThat(problems("--dev", "--bootstrap-expect", "1"))
        .containsExactly("--bootstrap-expect: cannot be used with --dev (dev forms a group of one)");
    assertThat(load("--server", "--data-dir", "/d", "--bootstrap-expect", "7").bootstrapExpect())
        .isEqualTo(OptionalInt.of(7));
  }

  @Test
  void conflictingAndWildcardSettingsAreRefused() {
    assertThat(problems("--dev", "--data-dir", "/d"))
        .containsExactly("--data-dir: cannot be used with --dev (dev keeps its data in memory)");
    assertThat(problems("--dev", "--bind", "0.0.0.0"))
        .containsExactly("--advertise is required when --bind is the wildcard address 0.0.0.0");
    assertThat(load("--dev", "--bind", "0.0.0.0", "--advertise", "10.1.2.3").advertise()).isEqualTo("10.1.2.3");
    assertThat(problems("--dev", "--http-port", "9000", "--raft-port", "9000"))
        .containsExactly("--http-port and --raft-port are both 9000");
    assertThat(problems("--dev", "--bind", "300.1.1.1"))
        .containsExactly("--bind: '300.1.1.1' is not an IP address or host name");
  }

  @Test
  void portZeroMeansEphemeralAndMayRepeat() {
    DaemonConfig config = load("--dev", "--http-port", "0", "--gossip-port", "0", "--raft-port", "0");
    assertThat(List.of(config.httpPort(), config.gossipPort(), config.raftPort())).containsOnly(0);
  }

  @Test
  void badFilesAreNamed() throws IOException {
    assertThat(problems("--dev", "--config", dir.resolve("missing.yaml").toString()))
        .singleElement().asString().endsWith("missing.yaml: no such file");
    Path broken = file("broken.json", "{\"node\": ");
    assertThat(problems("--dev", "--config", broken.toString()))
        .singleElement().asString().contains("broken.json: cannot parse at line");
    Path list = file("list.yaml", "- node\n- bind\n");
    assertThat(problems("--dev", "--config", list.toString()))
        .singleElement().asString().endsWith("must be a mapping of keys to values");
    Path dup = file("dup.yaml", "node: a\nnode: b\n");
    assertThat(problems("--dev", "--config", dup.toString()))
        .singleElement().asString().contains("Duplicate field 'node'");
    Path typed = file("typed.yaml", "dev: yes-please\nhttp_port: [1]\njoin: {a: b}\n");
    assertThat(problems("--config", typed.toString())).containsExactly(
        typed + ": dev: 'yes-please' is not true or false",
        typed + ": http_port: must be a single value",
        "--data-dir is required (or use --dev for an in-memory playground)",
        typed + ": join: must be a list of HOST:PORT strings");
  }

  @Test
  void emptyFileSetsNothing() throws IOException {
    Path empty = file("empty.yaml", "");
    assertThat(load("--dev", "--config", empty.toString()).httpPort()).isEqualTo(8520);
  }

  @Test
  void aFlagWithoutItsValueIsOneLine() {
    assertThatThrownBy(() -> loader.load("--dev", "--node"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Missing required parameter for option '--node'");
  }

  @Test
  void strayArgumentsAreRefused() {
    assertThat(problems("--dev", "extra")).containsExactly("unexpected argument 'extra'");
  }

  @Test
  void helpAndVersionArePrinted() {
    assertThat(loader.load("--help")).isInstanceOfSatisfying(ConfigLoader.Print.class,
        p -> assertThat(p.text()).contains("--bootstrap-expect").contains("--join").contains("http_port"));
    assertThat(loader.load("--version")).isInstanceOfSatisfying(ConfigLoader.Print.class,
        p -> assertThat(p.text()).startsWith("conclaved "));
  }

  @Test
  void anInvalidHostNameNeedsAnExplicitNode() {
    ConfigLoader odd = new ConfigLoader(() -> "my host");
    assertThat(catchThrowableOfType(ConfigException.class, () -> odd.load("--dev")).problems())
        .containsExactly("the host name 'my host' is not a valid node name; set --node");
    assertThat(((ConfigLoader.Run) odd.load("--dev", "--node", "ok")).config().node()).isEqualTo("ok");
  }

  @Test
  void addressesAreCheckedWithoutResolvingNames() {
    assertThat(ConfigLoader.isAddress("127.0.0.1")).isTrue();
    assertThat(ConfigLoader.isAddress("::1")).isTrue();
    assertThat(ConfigLoader.isAddress("db-1.internal")).isTrue();
    assertThat(ConfigLoader.isAddress("256.0.0.1")).isFalse();
    assertThat(ConfigLoader.isAddress("a b")).isFalse();
    assertThat(ConfigLoader.isAddress("1.2.3")).isFalse();
    assertThat(Optional.of(ConfigLoader.isWildcard("::"))).contains(true);
  }
}
