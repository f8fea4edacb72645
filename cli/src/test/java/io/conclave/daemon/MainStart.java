package io.conclave.daemon;

import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.Daemon;
import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's own start path ({@code Main.start}, package-private) for the cli tests: whatever
 * runtime {@code Main} wires in (today {@code LocalOnlyRuntime}, later Raft and gossip), the CLI is
 * tested against it. Lives in the daemon's package only to reach that method.
 */
public final class MainStart {
  private MainStart() {}

  /** A daemon started as {@code conclaved ARGS --node NODE} on ephemeral ports unless ARGS set them. */
  public static Daemon start(String node, String... args) {
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
}
