package io.conclave.daemon;

import ch.qos.logback.classic.Level;
import io.conclave.daemon.bridge.BridgeSettings;
import io.conclave.daemon.bridge.ClientRuntime;
import io.conclave.daemon.config.ConfigException;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.config.LogLevel;
import io.conclave.daemon.kv.KvRuntime;
import io.conclave.daemon.raft.RaftTiming;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.runtime.StartException;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code conclaved} process: parse the configuration, start the {@link Daemon}, run until
 * SIGTERM/SIGINT or {@code PUT /v1/agent/leave}, leave gracefully and exit 0.
 *
 * <p>Exit codes: 0 after a graceful stop (and for --help/--version); 1 when the start fails (port
 * in use, data dir unusable, ...); 2 for a bad command line or config file. Every failure is one
 * line on standard error, starting with {@code conclaved: }.
 *
 * <p>Signals: SIGTERM and SIGINT are caught with {@code sun.misc.Signal} so the main thread can run
 * the graceful leave and then exit 0. A plain shutdown hook would also run the leave, but the JVM
 * then exits with 143 (128 + SIGTERM), which init systems and orchestrators report as a failure.
 * A shutdown hook stays installed as a safety net for other ways the JVM may end (SIGHUP,
 * {@code System.exit} elsewhere); it stops the daemon if nothing else has.
 */
public final class Main {
  static final int EXIT_OK = 0;
  static final int EXIT_START_FAILED = 1;
  static final int EXIT_BAD_CONFIG = 2;

  static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  static final Duration LEAVE_TIMEOUT = Duration.ofSeconds(10);

  private final PrintStream out;
  private final PrintStream err;
  private final Supplier<String> hostName;
  private final CountDownLatch stopRequested = new CountDownLatch(1);

  Main(PrintStream out, PrintStream err, Supplier<String> hostName) {
    this.out = out;
    this.err = err;
    this.hostName = hostName;
  }

  public static void main(String[] args) {
    int code = new Main(System.out, System.err, Main::localHostName).run(args);
    System.exit(code);
  }

  /** Runs the whole process lifecycle; returns the exit code. */
  int run(String[] args) {
    DaemonConfig config;
    try {
      ConfigLoader.Outcome outcome = new ConfigLoader(hostName).load(args);
      if (outcome instanceof ConfigLoader.Print print) {
        out.print(print.text());
        out.flush();
        return EXIT_OK;
      }
      config = ((ConfigLoader.Run) outcome).config();
    } catch (ConfigException e) {
      err.println("conclaved: " + e.getMessage() + " (see conclaved --help)");
      return EXIT_BAD_CONFIG;
    }
    setLogLevel(config.logLevel());
    Daemon daemon;
    try {
      daemon = start(config);
    } catch (StartException e) {
      err.println("conclaved: cannot start: " + e.getMessage());
      return EXIT_START_FAILED;
    }
    daemon.leaveRequested().onComplete(v -> stopRequested.countDown());
    installSignalHandlers();
    Thread hook = new Thread(() -> daemon.leaveAndStop(LEAVE_TIMEOUT), "conclaved-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    awaitStopRequest();
    LoggerFactory.getLogger(Main.class).info("stopping node={}", config.node());
    daemon.leaveAndStop(LEAVE_TIMEOUT);
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down; the hook finds the daemon stopped and returns
    }
    return EXIT_OK;
  }

  /** Starts a daemon for {@code config}; throws {@link StartException} with the one line to print. */
  static Daemon start(DaemonConfig config) {
    return Daemon.start(config, runtime(config, BridgeSettings.defaults()), START_TIMEOUT);
  }

  /**
   * What drives a daemon of {@code config}: a server runs gossip and Raft bridged (bootstrap-expect,
   * autopilot) with the replicated KV store; a client agent gossips and forwards KV to the servers.
   */
  public static ClusterRuntime runtime(DaemonConfig config, BridgeSettings settings) {
    return config.raftEnabled() ? KvRuntime.server(settings, RaftTiming.lan()) : new ClientRuntime(settings);
  }

  private void awaitStopRequest() {
    while (true) {
      try {
        stopRequested.await();
        return;
      } catch (InterruptedException e) {
        // keep waiting: only a signal or a leave ends the daemon
      }
    }
  }

  /**
   * Routes SIGTERM and SIGINT to {@link #stopRequested} through {@code sun.misc.Signal} (module
   * jdk.unsupported), looked up reflectively so the build has no internal-API warnings; when it is
   * missing the shutdown hook still stops the daemon.
   */
  private void installSignalHandlers() {
    Logger log = LoggerFactory.getLogger(Main.class);
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Object handler = Proxy.newProxyInstance(Main.class.getClassLoader(), new Class<?>[] {handlerClass},
            (proxy, method, methodArgs) -> {
              if (method.getName().equals("handle")) {
                log.info("signal received signal=SIG{}", name);
                stopRequested.countDown();
                return null;
              }
              return switch (method.getName()) {
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == methodArgs[0];
                default -> "SignalHandler[" + name + "]";
              };
            });
        Object signal = signalClass.getConstructor(String.class).newInstance(name);
        signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
      } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
        log.warn("cannot handle SIG{}: stopping relies on the shutdown hook error=\"{}\"", name, e.toString());
      }
    }
  }

  static void setLogLevel(LogLevel level) {
    Logger root = LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    if (root instanceof ch.qos.logback.classic.Logger logback) {
      logback.setLevel(Level.toLevel(level.name()));
    }
  }

  static String localHostName() {
    String env = System.getenv("HOSTNAME");
    try {
      String name = InetAddress.getLocalHost().getHostName();
      int dot = name.indexOf('.');
      return dot > 0 ? name.substring(0, dot) : name;
    } catch (UnknownHostException e) {
      return env != null && !env.isBlank() ? env : "localhost";
    }
  }
}
