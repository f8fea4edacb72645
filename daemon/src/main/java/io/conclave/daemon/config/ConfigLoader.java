package io.conclave.daemon.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Turns the command line and the optional config file into a {@link DaemonConfig}.
 *
 * <p>Sources, highest first: flags, then the file of {@code --config}, then the defaults of
 * SPEC.md. The file's keys are the flag names in snake_case ({@code http_port}, {@code data_dir},
 * {@code bootstrap_expect}, {@code log_level}, ...), as in Consul's config files; {@code join} is a
 * list of strings (a single string is accepted too). A flag replaces the file's value, including
 * {@code join}: flags' joins replace the file's list rather than extend it.
 *
 * <p>Every problem is collected (unknown flags and keys, bad values, conflicting settings) and
 * reported together in one {@link ConfigException}.
 */
public final class ConfigLoader {

  /** What the command line asks for. */
  public sealed interface Outcome {}

  /** Start the daemon with this configuration. */
  public record Run(DaemonConfig config) implements Outcome {}

  /** Print this text (usage or version) and exit 0. */
  public record Print(String text) implements Outcome {}

  /** Keys of the config file, in the order problems are reported. */
  static final List<String> KEYS = List.of("node", "bind", "advertise", "http_port", "gossip_port",
      "raft_port", "data_dir", "server", "bootstrap_expect", "join", "encrypt", "dev", "log_level");

  private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  private static final Pattern HOST_NAME =
      Pattern.compile("(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");

  private final Supplier<String> hostName;

  /** @param hostName the default node name (the machine's host name); called only when needed */
  public ConfigLoader(Supplier<String> hostName) {
    this.hostName = hostName;
  }

  /**
   * Parses {@code args} (and the file they name).
   *
   * @throws ConfigException with every problem, when the configuration is unusable
   */
  public Outcome load(String... args) {
    DaemonFlags flags = new DaemonFlags();
    CommandLine cli = new CommandLine(flags);
    cli.setUnmatchedArgumentsAllowed(true);
    List<String> problems = new ArrayList<>();
    try {
      cli.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      throw new ConfigException(List.of(firstLine(e.getMessage())));
    }
    if (cli.isUsageHelpRequested()) {
      return new Print(cli.getUsageMessage());
    }
    if (cli.isVersionHelpRequested()) {
      StringWriter text = new StringWriter();
      cli.printVersionHelp(new PrintWriter(text, true));
      return new Print(text.toString());
    }
    for (String unmatched : cli.getUnmatchedArguments()) {
      problems.add(unmatched.startsWith("-")
          ? "unknown flag '" + unmatched + "'"
          : "unexpected argument '" + unmatched + "'");
    }
    Map<String, Setting> settings = new LinkedHashMap<>();
    if (flags.configFile != null) {
      readFile(flags.configFile, settings, problems);
    }
    overlayFlags(flags, settings);
    DaemonConfig config = new Resolver(settings, problems).resolve();
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new Run(config);
  }

  /** One value and where it came from, for messages: "--http-port" or "conf.yaml: http_port". */
  private record Setting(JsonNode value, String source) {}

  private static void readFile(String file, Map<String, Setting> settings, List<String> problems) {
    Path path;
    try {
      path = Path.of(file);
    } catch (InvalidPathException e) {
      problems.add("--config '" + file + "': not a valid path");
      return;
    }
    ObjectMapper mapper = file.toLowerCase(Locale.ROOT).endsWith(".json")
        ? new ObjectMapper()
        : new ObjectMapper(new YAMLFactory());
    mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    JsonNode root;
    try {
      root = mapper.readTree(Files.readString(path));
    } catch (NoSuchFileException e) {
      problems.add("--config " + file + ": no such file");
      return;
    } catch (AccessDeniedException e) {
      problems.add("--config " + file + ": permission denied");
      return;
    } catch (JacksonException e) {
      String where = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr();
      problems.add("--config " + file + ": cannot parse" + where + ": " + firstLine(e.getOriginalMessage()));
      return;
    } catch (IOException e) {
      problems.add("--config " + file + ": cannot read: " + e.getMessage());
      return;
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return; // an empty file sets nothing
    }
    if (!root.isObject()) {
      problems.add("--config " + file + ": must be a mapping of keys to values");
      return;
    }
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      String key = field.getKey();
      if (KEYS.contains(key)) {
        settings.put(key, new Setting(field.getValue(), file + ": " + key));
      } else {
        problems.add(file + ": unknown key '" + key + "'" + suggestion(key));
      }
    }
  }

  private static String suggestion(String key) {
    String normalized = key.toLowerCase(Locale.ROOT).replace('-', '_');
    if (KEYS.contains(normalized)) {
      return " (did you mean '" + normalized + "'?)";
    }
    return " (known keys: " + String.join(", ", KEYS) + ")";
  }

  private static void overlayFlags(DaemonFlags flags, Map<String, Setting> settings) {
    putFlag(settings, "node", "--node", flags.node);
    putFlag(settings, "bind", "--bind", flags.bind);
    putFlag(settings, "advertise", "--advertise", flags.advertise);
    putFlag(settings, "http_port", "--http-port", flags.httpPort);
    putFlag(settings, "gossip_port", "--gossip-port", flags.gossipPort);
    putFlag(settings, "raft_port", "--raft-port", flags.raftPort);
    putFlag(settings, "data_dir", "--data-dir", flags.dataDir);
    putBooleanFlag(settings, "server", "--server", flags.server);
    putFlag(settings, "bootstrap_expect", "--bootstrap-expect", flags.bootstrapExpect);
    if (flags.join != null) {
      ArrayNode joins = JsonNodeFactory.instance.arrayNode();
      flags.join.forEach(joins::add);
      settings.put("join", new Setting(joins, "--join"));
    }
    putFlag(settings, "encrypt", "--encrypt", flags.encrypt);
    putBooleanFlag(settings, "dev", "--dev", flags.dev);
    putFlag(settings, "log_level", "--log-level", flags.logLevel);
  }

  private static void putFlag(Map<String, Setting> settings, String key, String flag, String value) {
    if (value != null) {
      settings.put(key, new Setting(TextNode.valueOf(value), flag));
    }
  }

  private static void putBooleanFlag(Map<String, Setting> settings, String key, String flag, Boolean value) {
    if (value != null) {
      settings.put(key, new Setting(BooleanNode.valueOf(value), flag));
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    int newline = message.indexOf('\n');
    return (newline < 0 ? message : message.substring(0, newline)).trim();
  }

  /** Applies the defaults and checks every value and cross-setting rule, collecting problems. */
  private final class Resolver {
    private final Map<String, Setting> settings;
    private final List<String> problems;

    Resolver(Map<String, Setting> settings, List<String> problems) {
      this.settings = settings;
      this.problems = problems;
    }

    DaemonConfig resolve() {
      boolean dev = bool("dev", false);
      boolean server = bool("server", false) || dev;
      String node = nodeName();
      String bind = address("bind", DaemonConfig.DEFAULT_BIND);
      String advertise = address("advertise", bind);
      if (isWildcard(advertise)) {
        problems.add(settings.containsKey("advertise")
            ? source("advertise") + ": " + advertise + " is a wildcard address; other members cannot reach it"
            : "--advertise is required when --bind is the wildcard address " + bind);
      }
      int httpPort = port("http_port", DaemonConfig.DEFAULT_HTTP_PORT);
      int gossipPort = port("gossip_port", DaemonConfig.DEFAULT_GOSSIP_PORT);
      int raftPort = port("raft_port", DaemonConfig.DEFAULT_RAFT_PORT);
      checkDistinct("http_port", httpPort, "gossip_port", gossipPort);
      if (server) {
        checkDistinct("http_port", httpPort, "raft_port", raftPort);
        checkDistinct("gossip_port", gossipPort, "raft_port", raftPort);
      }
      Optional<Path> dataDir = dataDir(dev);
      OptionalInt expect = bootstrapExpect(server, dev);
      List<JoinAddress> join = joins();
      Optional<EncryptKey> encrypt = encryptKey();
      LogLevel logLevel = logLevel();
      if (!problems.isEmpty()) {
        return null;
      }
      return new DaemonConfig(node, bind, advertise, httpPort, gossipPort, raftPort, dataDir,
          server, expect, join, encrypt, dev, logLevel);
    }

    private String source(String key) {
      return settings.get(key).source();
    }

    /** A scalar as text, or null (with a problem) when the value is a list, map or null. */
    private String text(String key) {
      Setting setting = settings.get(key);
      JsonNode value = setting.value();
      if (value.isValueNode() && !value.isNull()) {
        return value.asText();
      }
      problems.add(setting.source() + ": must be a single value");
      return null;
    }

    private boolean bool(String key, boolean fallback) {
      if (!settings.containsKey(key)) {
        return fallback;
      }
      JsonNode value = settings.get(key).value();
      if (value.isBoolean()) {
        return value.booleanValue();
      }
      String text = text(key);
      if ("true".equalsIgnoreCase(text)) {
        return true;
      }
      if ("false".equalsIgnoreCase(text)) {
        return false;
      }
      if (text != null) {
        problems.add(source(key) + ": '" + text + "' is not true or false");
      }
      return fallback;
    }

    private OptionalInt integer(String key) {
      String text = text(key);
      if (text == null) {
        return OptionalInt.empty();
      }
      try {
        return OptionalInt.of(Integer.parseInt(text.trim()));
      } catch (NumberFormatException e) {
        problems.add(source(key) + ": '" + text + "' is not a whole number");
        return OptionalInt.empty();
      }
    }

    private int port(String key, int fallback) {
      if (!settings.containsKey(key)) {
        return fallback;
      }
      OptionalInt value = integer(key);
      if (value.isEmpty()) {
        return fallback;
      }
      if (value.getAsInt() < 0 || value.getAsInt() > 65_535) {
        problems.add(source(key) + ": " + value.getAsInt() + " is not a port (0-65535)");
        return fallback;
      }
      return value.getAsInt();
    }

    private void checkDistinct(String keyA, int portA, String keyB, int portB) {
      if (portA != 0 && portA == portB) {
        problems.add(name(keyA) + " and " + name(keyB) + " are both " + portA);
      }
    }

    /** The flag spelling of a key, for messages that are about two settings at once. */
    private String name(String key) {
      return "--" + key.replace('_', '-');
    }

    private String nodeName() {
      if (settings.containsKey("node")) {
        String node = text("node");
        if (node != null && !NODE_NAME.matcher(node).matches()) {
          problems.add(source("node") + ": '" + node
              + "' is not a node name (1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
        }
        return node;
      }
      String host = hostName.get();
      if (host == null || !NODE_NAME.matcher(host).matches()) {
        problems.add("the host name '" + host + "' is not a valid node name; set --node");
      }
      return host;
    }

    private String address(String key, String fallback) {
      if (!settings.containsKey(key)) {
        return fallback;
      }
      String value = text(key);
      if (value == null) {
        return fallback;
      }
      if (!isAddress(value)) {
        problems.add(source(key) + ": '" + value + "' is not an IP address or host name");
        return fallback;
      }
      return value;
    }

    private Optional<Path> dataDir(boolean dev) {
      if (!settings.containsKey("data_dir")) {
        if (!dev) {
          problems.add("--data-dir is required (or use --dev for an in-memory playground)");
        }
        return Optional.empty();
      }
      String value = text("data_dir");
      if (value == null) {
        return Optional.empty();
      }
      if (dev) {
        problems.add(source("data_dir") + ": cannot be used with --dev (dev keeps its data in memory)");
        return Optional.empty();
      }
      if (value.isBlank()) {
        problems.add(source("data_dir") + ": is empty");
        return Optional.empty();
      }
      try {
        return Optional.of(Path.of(value));
      } catch (InvalidPathException e) {
        problems.add(source("data_dir") + ": '" + value + "' is not a valid path");
        return Optional.empty();
      }
    }

    private OptionalInt bootstrapExpect(boolean server, boolean dev) {
      if (!settings.containsKey("bootstrap_expect")) {
        return OptionalInt.empty();
      }
      OptionalInt value = integer("bootstrap_expect");
      if (value.isEmpty()) {
        return value;
      }
      int expect = value.getAsInt();
      if (expect < 1 || expect > DaemonConfig.BOOTSTRAP_EXPECT_MAX) {
        problems.add(source("bootstrap_expect") + ": " + expect + " is not in 1.."
            + DaemonConfig.BOOTSTRAP_EXPECT_MAX);
      } else if (dev) {
        problems.add(source("bootstrap_expect") + ": cannot be used with --dev (dev forms a group of one)");
      } else if (!server) {
        problems.add(source("bootstrap_expect") + ": needs --server (only servers form the Raft group)");
      }
      return value;
    }

    private List<JoinAddress> joins() {
      if (!settings.containsKey("join")) {
        return List.of();
      }
      Setting setting = settings.get("join");
      List<String> texts = new ArrayList<>();
      if (setting.value().isArray()) {
        for (JsonNode item : setting.value()) {
          if (item.isValueNode() && !item.isNull()) {
            texts.add(item.asText());
          } else {
            problems.add(setting.source() + ": every entry must be a HOST:PORT string");
          }
        }
      } else if (setting.value().isObject() || setting.value().isNull()) {
        problems.add(setting.source() + ": must be a list of HOST:PORT strings");
      } else {
        texts.add(setting.value().asText());
      }
      List<JoinAddress> joins = new ArrayList<>();
      for (String text : texts) {
        parseJoin(text, setting.source()).ifPresent(joins::add);
      }
      return joins;
    }

    private Optional<JoinAddress> parseJoin(String text, String source) {
      String host = text.trim();
      int port = DaemonConfig.DEFAULT_GOSSIP_PORT;
      String portText = null;
      if (host.startsWith("[")) {
        int close = host.indexOf(']');
        if (close < 0) {
          problems.add(source + ": '" + text + "' has no closing ']'");
          return Optional.empty();
        }
        String rest = host.substring(close + 1);
        host = host.substring(1, close);
        if (rest.startsWith(":")) {
          portText = rest.substring(1);
        } else if (!rest.isEmpty()) {
          problems.add(source + ": '" + text + "' is not HOST:PORT");
          return Optional.empty();
        }
      } else if (host.indexOf(':') >= 0 && host.indexOf(':') == host.lastIndexOf(':')) {
        portText = host.substring(host.indexOf(':') + 1);
        host = host.substring(0, host.indexOf(':'));
      }
      if (portText != null) {
        try {
          port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
          problems.add(source + ": '" + text + "' has a bad port '" + portText + "'");
          return Optional.empty();
        }
        if (port < 1 || port > 65_535) {
          problems.add(source + ": '" + text + "' has a port outside 1-65535");
          return Optional.empty();
        }
      }
      if (!isAddress(host)) {
        problems.add(source + ": '" + text + "' is not HOST:PORT");
        return Optional.empty();
      }
      return Optional.of(new JoinAddress(host, port));
    }

    private Optional<EncryptKey> encryptKey() {
      if (!settings.containsKey("encrypt")) {
        return Optional.empty();
      }
      String text = text("encrypt");
      if (text == null) {
        return Optional.empty();
      }
      try {
        return Optional.of(EncryptKey.fromBase64(text));
      } catch (IllegalArgumentException e) {
        // never echo the value: it is meant to be a secret
        problems.add(source("encrypt") + ": " + e.getMessage()
            + " (want base64 of 32 bytes, e.g. from: openssl rand -base64 32)");
        return Optional.empty();
      }
    }

    private LogLevel logLevel() {
      if (!settings.containsKey("log_level")) {
        return LogLevel.INFO;
      }
      String text = text("log_level");
      if (text == null) {
        return LogLevel.INFO;
      }
      Optional<LogLevel> level = LogLevel.parse(text);
      if (level.isEmpty()) {
        problems.add(source("log_level") + ": '" + text + "' is not one of error, warn, info, debug");
      }
      return level.orElse(LogLevel.INFO);
    }
  }

  /** An IPv4 literal, an IPv6 literal (no brackets) or a syntactically valid host name. */
  static boolean isAddress(String value) {
    var ipv4 = IPV4.matcher(value);
    if (ipv4.matches()) {
      for (int group = 1; group <= 4; group++) {
        if (Integer.parseInt(ipv4.group(group)) > 255) {
          return false;
        }
      }
      return true;
    }
    if (value.indexOf(':') >= 0) {
      return isIpv6(value);
    }
    return HOST_NAME.matcher(value).matches() && !value.chars().allMatch(c -> c == '.' || Character.isDigit(c));
  }

  private static boolean isIpv6(String value) {
    if (!value.matches("[0-9A-Fa-f:.]+")) {
      return false; // keeps InetAddress from ever resolving a name
    }
    try {
      return java.net.InetAddress.getByName(value) instanceof java.net.Inet6Address;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  static boolean isWildcard(String address) {
    return address.equals("0.0.0.0") || address.equals("::") || address.matches("[0:]+");
  }
}
