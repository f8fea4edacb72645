package io.conclave.daemon;

import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.runtime.StartException;
import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's own start path ({@code Main.start}, package-private) for the cli tests: whatever
 * runtime {@code Main} wires in (today {@code LocalOnlyRuntime}, later Raft and gossip), the CLI is
 * tested against it. Lives in the daemon's package only to reach that method.
 */
public final class MainStart {
  private MainStart() {}

  /**
   * A daemon started as {@code conclaved ARGS --node NODE} on ephemeral ports unless ARGS set them.
   * With {@code --gossip-port 0} the daemon binds UDP to an ephemeral port and then TCP to the same
   * number, which another socket may hold on TCP; that start is retried (up to 3 times).
   */
  public static Daemon start(String node, String... args) {
    for (int attempt = 1; ; attempt++) {
      try {
        return startOnce(node, args);
      } catch (StartException e) {
        if (attempt >= 3 || !e.getMessage().contains("already in use") || List.of(args).contains("--gossip-port")) {
          throw e;
        }
      }
    }
  }

  private static Daemon startOnce(String node, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    for (String flag : List.of("--http-port", "--gossip-port", "--raft-port")) {
      if (!all.contains(flag)) {
        all.addAll(List.of(flag, "0"));
      }
    }
    all.addAll(List.of("--node", node, "--log-level", "warn"));
    DaemonConfig config = ((ConfigLoader.Run) new ConfigLoader(() -> node).load(all.toArray(String[]::new))).config();
    return Main.start(config);
  }

  /** {@code start} with {@code attempt} retried as {@link #start} does, for other start paths. */
  public static Daemon retryingPortClash(java.util.function.Supplier<Daemon> attempt) {
    for (int i = 1; ; i++) {
      try {
        return attempt.get();
      } catch (StartException e) {
        if (i >= 3 || !e.getMessage().contains("already in use")) {
          throw e;
        }
      }
    }
  }
}
