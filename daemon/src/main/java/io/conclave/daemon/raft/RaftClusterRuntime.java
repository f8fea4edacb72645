package io.conclave.daemon.raft;

import io.conclave.consensus.log.CorruptLogException;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.log.MemoryLogStore;
import io.conclave.consensus.log.SegmentedLogStore;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.RaftConfig;
import io.conclave.consensus.raft.RaftNode;
import io.conclave.consensus.raft.Snapshot;
import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftConfiguration;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftServer;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.runtime.RuntimeContext;
import io.conclave.daemon.runtime.StartException;
import io.conclave.daemon.transport.FramedTransport;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ClusterRuntime} of a server: a {@link RaftRuntime} on the Raft port, with its log in
 * {@code <data-dir>/raft} ({@link SegmentedLogStore}) or in memory with {@code --dev}. The Raft ID
 * is the node name; the Raft address is {@code advertise:raft-port}.
 *
 * <p>Gossip is not wired yet: the member list is this daemon alone, and the addresses of the other
 * servers come from the {@link RaftPeers} given at construction (tests fill it; gossip tags will).
 * A new group bootstraps from {@code bootstrapVoters}. Without them: a {@code --dev} server or a
 * server with {@code --bootstrap-expect 1} bootstraps alone; a server with {@code --bootstrap-expect
 * N > 1} and no Raft state waits (health critical "waiting for N servers ...") until gossip calls
 * {@link #bootstrap} with the servers it found; any other server starts with no configuration and
 * waits for a leader to add it as a learner ({@link RaftRuntime#addLearner}, autopilot's job).
 */
public final class RaftClusterRuntime implements ClusterRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(RaftClusterRuntime.class);
  /** AppendEntries a leader keeps in flight to one follower (see startRaft); the core's default is 256. */
  static final int RAFT_INFLIGHT_DEFAULT = 1;

  /** Where the Raft log lives under the data dir. */
  public static final String LOG_DIR = "raft";

  private final RaftPeers peers;
  private final Optional<Set<String>> bootstrapVoters;
  private final RaftTiming timing;
  private final StateMachine stateMachine;
  private volatile SnapshotPolicy snapshotPolicy = SnapshotPolicy.defaults();
  private final RaftLinkFilter linkFilter;
  private final Promise<RaftRuntime> started = Promise.promise();
  private volatile RaftRuntime raft;
  private volatile Member self;
  private volatile Waiting waiting;
  private volatile InstantSource clock = InstantSource.system();
  private WorkerExecutor wal;

  /**
   * @param peers Raft addresses of the other servers; this server adds its own at start
   * @param bootstrapVoters the voters a brand new group starts with; empty = the default above
   * @param timing tick length and timeouts
   * @param stateMachine what committed commands are applied to
   */
  public RaftClusterRuntime(RaftPeers peers, Optional<Set<String>> bootstrapVoters, RaftTiming timing,
      StateMachine stateMachine) {
    this(peers, bootstrapVoters, timing, stateMachine, RaftLinkFilter.ALLOW_ALL);
  }

  /**
   * As above, with every outgoing Raft frame passed through {@code linkFilter} first (a test's fault
   * injection; {@link RaftLinkFilter#ALLOW_ALL} in production).
   */
  public RaftClusterRuntime(RaftPeers peers, Optional<Set<String>> bootstrapVoters, RaftTiming timing,
      StateMachine stateMachine, RaftLinkFilter linkFilter) {
    this.linkFilter = java.util.Objects.requireNonNull(linkFilter, "linkFilter");
    this.peers = peers;
    this.bootstrapVoters = bootstrapVoters.map(Set::copyOf);
    this.timing = timing;
    this.stateMachine = stateMachine;
  }

  /** Sets when this server snapshots and how many entries it keeps behind; before {@link #start}. */
  public RaftClusterRuntime withSnapshotPolicy(SnapshotPolicy policy) {
    this.snapshotPolicy = java.util.Objects.requireNonNull(policy, "policy");
    return this;
  }

  /** A server runtime with the default timing, its own peer map and no application yet. */
  public static RaftClusterRuntime standalone(StateMachine stateMachine) {
    return new RaftClusterRuntime(new RaftPeers(), Optional.empty(), RaftTiming.lan(), stateMachine);
  }

  @Override
  public Future<Void> start(RuntimeContext ctx) {
    DaemonConfig config = ctx.config();
    String id = config.node();
    clock = ctx.clock();
    self = new Member(id, config.advertise(), ctx.gossipUdp().port(),
        Map.of(Member.TAG_ROLE, Member.ROLE_SERVER), MemberState.ALIVE, 0);
    FramedTransport transport = ctx.raftTcp().orElseThrow(() -> new StartException("raft port not bound"));
    peers.put(id, config.advertise(), transport.port());
    Set<String> voters = bootstrapVoters.orElseGet(() ->
        config.dev() || config.bootstrapExpect().orElse(0) == 1 ? Set.of(id) : Set.of());
    wal = ctx.context().owner().createSharedWorkerExecutor("raft-wal", 1);
    int expect = config.bootstrapExpect().orElse(0);
    return wal.executeBlocking(() -> openStore(ctx), true).compose(this::restoreSnapshot).compose(store -> {
      LogStore.Recovered recovered = store.recovered();
      boolean fresh = recovered.hardState().term() == 0 && recovered.entries().isEmpty() && recovered.snapshot() == null;
      if (fresh && voters.isEmpty() && expect > 1) {
        // gossip decides the voters: see bootstrap()
        waiting = new Waiting(ctx, store, "waiting for " + expect + " servers to bootstrap (bootstrap-expect)");
        LOG.info("raft waiting for bootstrap id={} bootstrap_expect={}", id, expect);
        return Future.succeededFuture();
      }
      return startRaft(ctx, store, voters);
    });
  }

  /**
   * Restores the state machine from the snapshot the store recovered, if any: read and checked on
   * the wal worker, then installed, before the node replays the entries after it. A snapshot the
   * state machine cannot read stops the start with one line naming the file; nothing on disk is
   * changed, so the log is still all there for an operator.
   */
  private Future<LogStore> restoreSnapshot(LogStore store) {
    Snapshot s = store.recovered().snapshot();
    if (s == null) {
      return Future.succeededFuture(store);
    }
    String file = store instanceof SegmentedLogStore seg && seg.snapshotFile() != null
        ? seg.snapshotFile().toString() : "snapshot at index " + s.index();
    if (!stateMachine.snapshots()) {
      closeQuietly(store);
      return Future.failedFuture(new StartException("raft snapshot " + file + " found, but the state machine "
          + stateMachine.getClass().getName() + " cannot restore snapshots"));
    }
    long start = System.nanoTime();
    return wal.executeBlocking(() -> stateMachine.prepareRestore(new ByteArrayInputStream(s.data())), true)
        .recover(e -> {
          closeQuietly(store);
          return Future.failedFuture(new StartException("raft snapshot " + file + " does not restore the state machine: "
              + (e.getMessage() == null ? e.toString() : e.getMessage())));
        })
        .map(restore -> {
          restore.install();
          LOG.info("snapshot restored on start index={} term={} bytes={} file={} duration_ms={}", s.index(), s.term(),
              s.data().length, file, (System.nanoTime() - start) / 1_000_000);
          return store;
        });
  }

  /** A server with no Raft state, waiting for gossip to find its bootstrap-expect peers. */
  private record Waiting(RuntimeContext ctx, LogStore store, String reason) {}

  /**
   * Starts a server that was waiting for bootstrap-expect (no Raft state, no voters given): the seam
   * for gossip. {@code voters} are the servers gossip found, all without Raft state, this one among
   * them; every one of them must be given the same set. Empty joins an existing group instead (the
   * leader adds this server as a learner). Completes with false, doing nothing, when this server was
   * not waiting (it has Raft state, or was started or bootstrapped already): a server that has state
   * never bootstraps again.
   */
  public Future<Boolean> bootstrap(Set<String> voters) {
    Promise<Boolean> done = Promise.promise();
    Waiting w = waiting;
    if (w == null) {
      return Future.succeededFuture(false);
    }
    w.ctx().context().runOnContext(v -> {
      if (waiting != w) {
        done.complete(false);
        return;
      }
      waiting = null;
      LOG.info("raft bootstrapping id={} voters={}", w.ctx().config().node(), new java.util.TreeSet<>(voters));
      startRaft(w.ctx(), w.store(), Set.copyOf(voters)).map(true).onComplete(done);
    });
    return done.future();
  }

  /** Whether this server waits for {@link #bootstrap} (bootstrap-expect with no Raft state yet). */
  public boolean awaitingBootstrap() {
    return waiting != null;
  }

  /**
   * AppendEntries in flight per follower: one. A follower forces one batch at a time, so what the
   * leader gathers while the follower syncs leaves, once it acknowledges, as one bigger message: on
   * a loaded 2-core machine fewer, bigger messages (and fewer follower fsyncs) beat keeping the
   * follower's next batch already queued (2 in flight, the earlier default; 1 served 1.05 to 1.1
   * times the writes at 64 clients, docs/benchmarks.md). {@code override} (the system property
   * {@code conclave.raft.inflight}, for benchmarks) replaces it; null, unparsable or below 1 keeps
   * the default.
   */
  static RaftConfig withInflight(RaftConfig config, String override) {
    int inflight = RAFT_INFLIGHT_DEFAULT;
    if (override != null) {
      try {
        int n = Integer.parseInt(override.trim());
        if (n >= 1) {
          inflight = n;
        } else {
          LOG.warn("conclave.raft.inflight={} is below 1; keeping {}", override, RAFT_INFLIGHT_DEFAULT);
        }
      } catch (NumberFormatException e) {
        LOG.warn("conclave.raft.inflight={} is not a number; keeping {}", override, RAFT_INFLIGHT_DEFAULT);
      }
    }
    return config.withFlowControl(config.maxMsgBytes(), inflight);
  }

  private Future<Void> startRaft(RuntimeContext ctx, LogStore store, Set<String> voters) {
    String id = ctx.config().node();
    FramedTransport transport = ctx.raftTcp().orElseThrow();
    RaftConfig raftConfig = RaftConfig.of(id, voters)
        .withTimeouts(timing.electionTimeoutTicks(), timing.heartbeatTicks());
    raftConfig = raftConfig.withSnapshots(raftConfig.snapshotChunkBytes(), snapshotPolicy.trailingEntries())
        .withTrailingBytes(snapshotPolicy.trailingBytes());
    raftConfig = withInflight(raftConfig, System.getProperty("conclave.raft.inflight"));
    RaftNode node;
    try {
      node = RaftNode.start(raftConfig, store.recovered(), new SplittableRandom());
    } catch (RuntimeException e) {
      closeQuietly(store);
      return Future.failedFuture(new StartException("raft log does not make sense: " + e.getMessage()));
    }
    RaftRuntime.Sender sender = new RaftRuntime.Sender() {
      @Override
      public boolean send(RaftPeers.Address to, byte[] payload) {
        if (!linkFilter.allows(id, to)) {
          return true; // dropped as if lost on the wire (a test's partition)
        }
        return transport.send(to.host(), to.port(), payload);
      }

      @Override
      public void forget(RaftPeers.Address old) {
        transport.disconnect(old.host(), old.port()); // else it would retry the dead address for ever
      }
    };
    RaftRuntime runtime = new RaftRuntime(ctx.context(), node, store, wal, sender, peers, stateMachine, timing,
        snapshotPolicy, ctx.registry());
    raft = runtime;
    transport.handler(frame -> runtime.receive(frame.payload()));
    return runtime.start().onSuccess(v -> started.tryComplete(runtime));
  }

  private static LogStore openStore(RuntimeContext ctx) {
    if (ctx.config().dev()) {
      return new MemoryLogStore();
    }
    Path dir = ctx.storage().orElseThrow(() -> new StartException("no data dir")).path().resolve(LOG_DIR);
    try {
      return SegmentedLogStore.open(dir);
    } catch (CorruptLogException e) {
      throw new StartException(e.getMessage()); // names the file and the byte offset
    } catch (IOException e) {
      throw new StartException("raft log " + dir + ": " + e.getMessage());
    }
  }

  private static void closeQuietly(LogStore store) {
    try {
      store.close();
    } catch (IOException e) {
      LOG.warn("closing the raft log failed error=\"{}\"", e.toString());
    }
  }

  /** Completes with the Raft runtime once started: the KV state machine's way in (propose, readBarrier). */
  public Future<RaftRuntime> raft() {
    return started.future();
  }

  public RaftPeers peers() {
    return peers;
  }

  @Override
  public ClusterView view() {
    return () -> {
      RaftRuntime r = raft;
      if (r == null) {
        Waiting w = waiting;
        return Future.succeededFuture(new ClusterSnapshot(self, List.of(self),
            RaftStatus.notRunning(w != null ? w.reason() : "raft not started"), Optional.empty()));
      }
      return r.state().map(this::snapshot);
    };
  }

  private ClusterSnapshot snapshot(RaftState s) {
    if (!s.failure().isEmpty()) {
      return new ClusterSnapshot(self, List.of(self), RaftStatus.notRunning("raft " + s.failure()), configuration(s));
    }
    RaftRole role = switch (s.role()) {
      case LEADER -> RaftRole.LEADER;
      case CANDIDATE, PRE_CANDIDATE -> RaftRole.CANDIDATE;
      case FOLLOWER -> s.configuration().isLearner(s.id()) ? RaftRole.LEARNER : RaftRole.FOLLOWER;
    };
    RaftStatus status = new RaftStatus(role, s.leaderId(), s.leaderAddress(), s.term(), s.commitIndex(),
        s.leaderId().isEmpty() ? Optional.empty() : Optional.of(clock.instant().minusMillis(s.lastContactMs())), "");
    return new ClusterSnapshot(self, List.of(self), status, configuration(s));
  }

  private Optional<RaftConfiguration> configuration(RaftState s) {
    Configuration conf = s.configuration();
    if (conf.members().isEmpty()) {
      return Optional.empty();
    }
    List<RaftServer> servers = new ArrayList<>();
    for (String member : conf.members()) {
      servers.add(new RaftServer(member, member, peers.addressText(member),
          member.equals(s.leaderId()),
          conf.isVoter(member)));
    }
    return Optional.of(new RaftConfiguration(servers, s.configurationIndex()));
  }

  @Override
  public ClusterControl control() {
    return new ClusterControl() {
      @Override
      public Future<Void> leave() {
        RaftRuntime r = raft;
        if (r == null) {
          return Future.succeededFuture();
        }
        // A leader hands over first, so the group does not wait out an election timeout.
        return r.state().compose(s -> {
          if (!s.isLeader() || s.configuration().voters().size() < 2) {
            return Future.succeededFuture();
          }
          return r.transferLeadership(null).recover(e -> {
            LOG.warn("leadership transfer before leaving failed error=\"{}\"", e.getMessage());
            return Future.succeededFuture();
          });
        });
      }

      @Override
      public Future<Void> transferLeadership(Optional<String> targetId) {
        RaftRuntime r = raft;
        if (r == null) {
          return notRunning();
        }
        return r.state().compose(s -> {
          if (targetId.isPresent() && !s.configuration().contains(targetId.get())) {
            return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNKNOWN_PEER,
                "server " + targetId.get() + " is not in the Raft configuration"));
          }
          return r.transferLeadership(targetId.orElse(null)).recover(RaftClusterRuntime::controlError);
        });
      }

      @Override
      public Future<Void> removePeer(String id) {
        RaftRuntime r = raft;
        if (r == null) {
          return notRunning();
        }
        return r.state().compose(s -> {
          if (!s.configuration().contains(id)) {
            return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNKNOWN_PEER,
                "server " + id + " is not in the Raft configuration"));
          }
          return r.remove(id).<Void>mapEmpty().recover(RaftClusterRuntime::controlError);
        });
      }
    };
  }

  private static <T> Future<T> notRunning() {
    return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, "raft not running"));
  }

  /** Maps a Raft request failure onto the HTTP API's kinds. */
  static <T> Future<T> controlError(Throwable e) {
    if (!(e instanceof RaftRequestException r)) {
      return Future.failedFuture(e);
    }
    ClusterControlException.Kind kind;
    String message = r.getMessage();
    switch (r.kind()) {
      case NOT_LEADER -> {
        // TODO(gossip): forward to the leader's HTTP address once gossip tags carry it
        kind = r.leaderId().isEmpty() ? ClusterControlException.Kind.NO_LEADER : ClusterControlException.Kind.UNAVAILABLE;
        message = r.leaderId().isEmpty() ? "No cluster leader"
            : "this server is not the leader; send the request to the leader " + r.leaderId()
                + (r.leaderAddress().isEmpty() ? "" : " (raft " + r.leaderAddress() + ")");
      }
      case REJECTED -> kind = ClusterControlException.Kind.REJECTED;
      case TIMEOUT -> kind = ClusterControlException.Kind.TIMEOUT;
      default -> kind = ClusterControlException.Kind.UNAVAILABLE;
    }
    return Future.failedFuture(new ClusterControlException(kind, message));
  }

  @Override
  public Future<Void> stop() {
    RaftRuntime r = raft;
    Waiting w = waiting;
    waiting = null;
    Future<Void> stopped = r != null ? r.stop()
        : w != null && wal != null ? wal.executeBlocking(() -> {
          w.store().close();
          return null;
        }, true).mapEmpty()
        : Future.succeededFuture();
    return stopped.eventually(() -> wal == null ? Future.succeededFuture() : wal.close());
  }
}
