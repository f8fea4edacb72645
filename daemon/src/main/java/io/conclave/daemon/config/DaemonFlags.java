package io.conclave.daemon.config;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command line as typed. Every value is kept as text (or null when absent) so that
 * {@link ConfigLoader} can merge it over the config file and validate everything in one pass,
 * reporting all problems together instead of stopping at picocli's first conversion error. The two
 * switches are {@code Boolean} with arity 0..1: a bare {@code --server} is true, {@code
 * --server=false} overrides a file, and a following word that is not a boolean is not swallowed.
 */
@Command(
    name = "conclaved",
    mixinStandardHelpOptions = true,
    versionProvider = Version.Provider.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "The conclave daemon: gossip membership on every host, Raft on the servers.",
      "Every flag can also be set in a YAML or JSON file given by --config (keys: node, bind,",
      "advertise, http_port, gossip_port, raft_port, data_dir, server, bootstrap_expect, join,",
      "encrypt, dev, log_level); flags win over the file."
    })
final class DaemonFlags {

  @Option(names = "--node", paramLabel = "NAME", description = "unique member name (default: host name)")
  String node;

  @Option(names = "--bind", paramLabel = "ADDR",
      description = "address the gossip, Raft and HTTP listeners bind (default: 127.0.0.1)")
  String bind;

  @Option(names = "--advertise", paramLabel = "ADDR",
      description = "address other members use to reach this one (default: the bind address)")
  String advertise;

  @Option(names = "--http-port", paramLabel = "N", description = "HTTP API port (default: 8520)")
  String httpPort;

  @Option(names = "--gossip-port", paramLabel = "N",
      description = "gossip port, UDP and TCP (default: 8521)")
  String gossipPort;

  @Option(names = "--raft-port", paramLabel = "N", description = "Raft RPC port (default: 8522)")
  String raftPort;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Raft log, term/vote and snapshots (required, except with --dev)")
  String dataDir;

  @Option(names = "--server", arity = "0..1", paramLabel = "BOOL",
      description = "take part in the Raft group (default: a client agent)")
  Boolean server;

  @Option(names = "--bootstrap-expect", paramLabel = "N",
      description = "wait until gossip shows N servers (1..7), then form the group; needs --server")
  String bootstrapExpect;

  @Option(names = "--join", paramLabel = "HOST:PORT",
      description = "gossip address of any member; repeatable; retried with back-off")
  List<String> join;

  @Option(names = "--encrypt", paramLabel = "KEY",
      description = "base64 of a 32-byte key: gossip sealed with AES-256-GCM")
  String encrypt;

  @Option(names = "--dev", arity = "0..1", paramLabel = "BOOL",
      description = "one in-memory server that forms a group of one at once")
  Boolean dev;

  @Option(names = "--log-level", paramLabel = "LEVEL",
      description = "error, warn, info, debug (default: info)")
  String logLevel;

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML or JSON file with any of the settings above (.json is read as JSON)")
  String configFile;
}
