package io.conclave.daemon.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The daemon's validated configuration (SPEC "Daemon flags"). Built only by {@link ConfigLoader},
 * which checks every rule below once at start and reports all problems together.
 *
 * @param node unique member name; default: the host name
 * @param bind address the gossip, Raft and HTTP listeners bind; default 127.0.0.1
 * @param advertise address other members use to reach this one; default: {@code bind}. Never a
 *     wildcard address.
 * @param httpPort HTTP API port (TCP); default 8520; 0 = ephemeral (tests)
 * @param gossipPort gossip port (UDP, and TCP for push-pull); default 8521; 0 = ephemeral
 * @param raftPort Raft RPC port (TCP); default 8522; 0 = ephemeral; bound only by a server
 * @param dataDir Raft log, term/vote and snapshots; present unless {@code dev}
 * @param server take part in the Raft group ({@code dev} implies it)
 * @param bootstrapExpect servers to wait for before forming the group, 1..7; only with server
 * @param join gossip addresses to join, tried with back-off until one answers
 * @param encrypt AES-256-GCM key for gossip; empty = gossip in the clear
 * @param dev one in-memory server that forms a group of one at once
 * @param logLevel root log level; default info
 */
public record DaemonConfig(
    String node,
    String bind,
    String advertise,
    int httpPort,
    int gossipPort,
    int raftPort,
    Optional<Path> dataDir,
    boolean server,
    OptionalInt bootstrapExpect,
    List<JoinAddress> join,
    Optional<EncryptKey> encrypt,
    boolean dev,
    LogLevel logLevel) {

  public static final String DEFAULT_BIND = "127.0.0.1";
  public static final int DEFAULT_HTTP_PORT = 8520;
  public static final int DEFAULT_GOSSIP_PORT = 8521;
  public static final int DEFAULT_RAFT_PORT = 8522;
  public static final int BOOTSTRAP_EXPECT_MAX = 7;

  public DaemonConfig {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(bind, "bind");
    Objects.requireNonNull(advertise, "advertise");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(bootstrapExpect, "bootstrapExpect");
    Objects.requireNonNull(encrypt, "encrypt");
    Objects.requireNonNull(logLevel, "logLevel");
    join = List.copyOf(join);
    check(dev || dataDir.isPresent(), "dataDir is required unless dev");
    check(!dev || server, "dev implies server");
  }

  /** Whether this daemon runs Raft (and binds the Raft port): a server, or a dev playground. */
  public boolean raftEnabled() {
    return server || dev;
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalStateException(message);
    }
  }
}
