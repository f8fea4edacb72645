package io.conclave.cli;

import io.conclave.cli.commands.CompletionCommand;
import io.conclave.cli.commands.HealthCommand;
import io.conclave.cli.commands.KvCommand;
import io.conclave.cli.commands.LeaderCommand;
import io.conclave.cli.commands.LeaveCommand;
import io.conclave.cli.commands.MembersCommand;
import io.conclave.cli.commands.RaftCommand;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code conclave}: the command line, a thin client of the daemon's HTTP API (SPEC.md "Command
 * line"). One instance per run: it holds the global options and the process's environment, and
 * builds the {@link ApiClient} lazily, so {@code --help} and bad arguments never touch the network.
 *
 * <p>Exit codes are in {@link ExitCodes}. Errors are one line on standard error, {@code conclave: ...};
 * usage errors are picocli's (message, then the usage), exit 2.
 */
@Command(name = "conclave", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true,
    versionProvider = Cli.VersionProvider.class, sortOptions = false, usageHelpAutoWidth = true,
    description = "Inspect a conclave cluster through a daemon's HTTP API.",
    footer = {"", "Exit codes: 0 success; 1 the daemon refused or failed the request; 2 bad arguments;",
        "3 the daemon is unreachable. health: 0 passing, 1 warning, 2 critical, 3 unreachable."})
public final class Cli implements Runnable {
  public static final String DEFAULT_HTTP_ADDR = "http://127.0.0.1:8520";
  public static final String ENV_HTTP_ADDR = "CONCLAVE_HTTP_ADDR";

  /**
   * The commands, in the order {@code --help} lists them. They are registered by {@link
   * #commandLine(String[])}, not by the annotation, so a run builds picocli's model of only the
   * command it runs (see docs/cli.md, "Start-up").
   */
  static final Map<String, Class<?>> COMMANDS = commands();

  private static Map<String, Class<?>> commands() {
    Map<String, Class<?>> commands = new LinkedHashMap<>();
    commands.put("members", MembersCommand.class);
    commands.put("leader", LeaderCommand.class);
    commands.put("raft", RaftCommand.class);
    commands.put("kv", KvCommand.class);
    commands.put("health", HealthCommand.class);
    commands.put("leave", LeaveCommand.class);
    commands.put("completion", CompletionCommand.class);
    return Collections.unmodifiableMap(commands);
  }

  /** How {@code --format} prints: aligned tables for people, the API's own JSON for scripts. */
  public enum Format { table, json }

  @Spec CommandSpec spec;

  @Option(names = "--http-addr", paramLabel = "URL", scope = ScopeType.INHERIT,
      description = "The daemon's HTTP API (default: $" + ENV_HTTP_ADDR + ", else " + DEFAULT_HTTP_ADDR + ").")
  String httpAddr;

  @Option(names = "--format", paramLabel = "table|json", scope = ScopeType.INHERIT,
      description = "Output: table (aligned, for people) or json (the API's own shape, for scripts and jq). "
          + "Default: ${DEFAULT-VALUE}.")
  Format format = Format.table;

  private final Map<String, String> env;
  private final Style style;
  private final InputStream stdin;
  private ApiClient api;

  /**
   * @param env the process environment ({@code CONCLAVE_HTTP_ADDR}, {@code NO_COLOR}, {@code TERM})
   * @param terminal whether standard output is a terminal (colours are only ever used then)
   * @param stdin where {@code kv put KEY -} reads the value
   */
  public Cli(Map<String, String> env, boolean terminal, InputStream stdin) {
    this.env = Map.copyOf(env);
    this.style = Style.detect(env, terminal);
    this.stdin = stdin;
  }

  public static void main(String[] args) {
    Cli cli = new Cli(System.getenv(), System.console() != null, System.in);
    int code = cli.commandLine(args).execute(args);
    if (cli.api != null) {
      ApiClient.stopSelectorThreads(); // else the JVM's exit waits up to 300 ms for it
    }
    System.exit(code);
  }

  /** The command line with every command registered (for help, completion and tests). */
  public CommandLine commandLine() {
    return build(COMMANDS.keySet());
  }

  /**
   * The command line to {@code execute(args)}: with only the command that {@code args} names
   * (picocli builds each registered command's model by reflection, at start-up), or with all of
   * them when {@code args} names none, an unknown one, or {@code completion}, so that help, "did you
   * mean" suggestions and the completion script see every command.
   */
  public CommandLine commandLine(String[] args) {
    String name = commandName(args);
    boolean one = name != null && COMMANDS.containsKey(name) && !name.equals("completion");
    return build(one ? List.of(name) : COMMANDS.keySet());
  }

  /** The first argument that is neither an option nor the value of a global option. */
  static String commandName(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--http-addr") || arg.equals("--format")) {
        i++;
      } else if (!arg.startsWith("-")) {
        return arg;
      }
    }
    return null;
  }

  private CommandLine build(Collection<String> names) {
    CommandLine commandLine = new CommandLine(this);
    for (String name : names) {
      commandLine.addSubcommand(name, COMMANDS.get(name));
    }
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setExpandAtFiles(false); // "kv put k @x" stores "@x"; it never reads a file
    commandLine.setExecutionExceptionHandler((e, cl, parsed) -> {
      PrintWriter err = cl.getErr();
      if (e instanceof CliException) {
        err.println("conclave: " + e.getMessage());
        err.flush();
        return ((CliException) e).exitCode();
      }
      err.println("conclave: internal error: " + e);
      err.flush();
      return ExitCodes.FAILED;
    });
    return commandLine;
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a command (see conclave --help)");
  }

  /** The daemon's address: {@code --http-addr}, else {@code CONCLAVE_HTTP_ADDR}, else the default. */
  public URI httpAddr(CommandLine forErrors) {
    String raw = httpAddr != null ? httpAddr : env.getOrDefault(ENV_HTTP_ADDR, "");
    String where = httpAddr != null ? "--http-addr" : ENV_HTTP_ADDR;
    if (raw.isBlank()) {
      raw = DEFAULT_HTTP_ADDR;
    }
    raw = raw.strip();
    if (!raw.contains("://")) {
      raw = "http://" + raw; // "127.0.0.1:8520" is what people type
    }
    try {
      URI uri = new URI(raw);
      boolean httpScheme = "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme());
      if (!httpScheme || uri.getHost() == null) {
        throw new ParameterException(forErrors, where + ": '" + raw + "' is not an http:// or https:// URL with a host");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new ParameterException(forErrors, where + ": '" + raw + "' is not a URL (" + e.getReason() + ")");
    }
  }

  /** The API client, built on first use. */
  public ApiClient api(CommandLine forErrors) {
    if (api == null) {
      api = new ApiClient(httpAddr(forErrors));
    }
    return api;
  }

  public Format format() {
    return format;
  }

  public Style style() {
    return style;
  }

  public InputStream stdin() {
    return stdin;
  }

  /** The build's version, from the Maven-filtered {@code conclave-cli.properties}. */
  public static String version() {
    try (InputStream in = Cli.class.getResourceAsStream("/conclave-cli.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties props = new Properties();
      props.load(in);
      return props.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** picocli's hook for {@code --version}. */
  public static final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"conclave " + version(), "JVM: ${java.version} (${java.vendor} ${java.vm.name})"};
    }
  }
}
