package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.config.Version;
import io.conclave.daemon.gossip.GossipRuntime;
import io.conclave.daemon.http.Forwarder;
import io.conclave.daemon.raft.RaftClusterRuntime;
import io.conclave.daemon.raft.RaftPeers;
import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.raft.RaftState;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.runtime.RuntimeContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server daemon: gossip and Raft on one context, and the bridge between them.
 *
 * <ol>
 *   <li>Start: the Raft runtime opens its log; then gossip starts with tags {@code role=server},
 *       {@code raft=<advertise:raft-port>}, {@code raft_state} (whether the log held state) and
 *       {@code version}, and joins the seeds.
 *   <li>Bootstrap: with state, never again; with {@code --dev}, alone at once; without
 *       {@code --bootstrap-expect}, empty (a leader adds it); with it, {@link BootstrapPlan} on
 *       gossip's view, stable for {@link BridgeSettings#bootstrapSettle()}.
 *   <li>Then every {@link BridgeSettings#syncPeriod()}: the Raft peer map from the servers'
 *       {@code raft} tags, and this server's tags from Raft ({@code raft_state}, {@code leader},
 *       {@code term}); {@link Autopilot} on the leader.
 * </ol>
 *
 * Leave: a leader hands leadership over, then gossip announces the leave and waits (bounded) until
 * the rumor is out; the new leader's autopilot removes this server from the configuration at once.
 */
public final class ServerRuntime implements ClusterRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(ServerRuntime.class);

  private final RaftClusterRuntime raft;
  private final BridgeSettings settings;
  private final long startNanos = System.nanoTime();
  private final LongSupplier nowMs = () -> (System.nanoTime() - startNanos) / 1_000_000;

  private Context context;
  private Vertx vertx;
  private DaemonConfig config;
  private String raftAddress;
  private String httpAddress;
  private volatile GossipRuntime gossip;
  private volatile Autopilot autopilot;
  private volatile String waitReason = "raft not started";
  private boolean bootstrapRequested;
  private volatile Supplier<Optional<byte[]>> clusterSettings = Optional::empty;
  private SortedSet<String> candidateVoters;
  private long candidateSinceMs;
  private long syncTimer = -1;
  private boolean stopped;
  private volatile Forwarder forwarder;
  private final OperatorForwarding operator = new OperatorForwarding(() -> forwarder);

  public ServerRuntime(RaftClusterRuntime raft, BridgeSettings settings) {
    this.raft = raft;
    this.settings = settings;
  }

  @Override
  public Future<Void> start(RuntimeContext ctx) {
    context = ctx.context();
    vertx = context.owner();
    config = ctx.config();
    raftAddress = new RaftPeers.Address(config.advertise(), ctx.raftTcp().orElseThrow().port()).toString();
    httpAddress = new RaftPeers.Address(config.advertise(), ctx.httpPort()).toString();
    forwarder = new Forwarder(vertx, config.node());
    return raft.start(ctx).compose(v -> {
      gossip = new GossipRuntime(context, config.node(), config.advertise(), ctx.gossipUdp(), ctx.gossipTcp(),
          config.join(), settings.gossip(), ctx.registry(), nowMs, new SplittableRandom());
      gossip.addListener(e -> onMembersChanged());
      Future<RaftRuntime> r = raft.raft();
      Future<Optional<RaftState>> initial = r.isComplete() && r.succeeded()
          ? r.result().state().map(Optional::of) : Future.succeededFuture(Optional.empty());
      return initial.compose(s -> gossip.start(tags(s)));
    }).onSuccess(v -> {
      if (raft.awaitingBootstrap()) {
        waitReason = "waiting for bootstrap-expect";
      } else {
        LOG.info("bootstrap not needed node={}: raft started from its data dir, in dev mode, alone "
            + "(bootstrap-expect 1), or without --bootstrap-expect (a leader adds it)", config.node());
      }
      raft.raft().onSuccess(this::onRaftStarted);
      syncTimer = vertx.setPeriodic(settings.syncPeriod().toMillis(), t -> sync());
      decideBootstrap();
    });
  }

  private void onRaftStarted(RaftRuntime r) {
    if (stopped || r == null) {
      return;
    }
    waitReason = "";
    autopilot = new Autopilot(vertx, config.node(), RaftAdmin.of(r), () -> gossip.members(),
        settings.autopilot(), clusterSettings, nowMs);
    autopilot.start();
    sync();
  }

  /** The tags this server gossips, from the Raft state when Raft runs. */
  private Map<String, String> tags(Optional<RaftState> s) {
    Map<String, String> tags = new TreeMap<>();
    tags.put(ServerTags.ROLE, Member.ROLE_SERVER);
    tags.put(ServerTags.RAFT, raftAddress);
    tags.put(ServerTags.HTTP, httpAddress);
    tags.put(ServerTags.VERSION, Version.current());
    // any configuration at all means this server belongs to a group (or did): never bootstrap it
    boolean member = s.map(st -> !st.configuration().members().isEmpty()).orElse(false);
    tags.put(ServerTags.RAFT_STATE, member ? ServerTags.STATE_MEMBER : ServerTags.STATE_NONE);
    s.filter(st -> !st.leaderId().isEmpty()).ifPresent(st -> {
      tags.put(ServerTags.LEADER, st.leaderId());
      tags.put(ServerTags.TERM, Long.toString(st.term()));
    });
    return tags;
  }

  private void onMembersChanged() {
    feedPeers();
    decideBootstrap();
  }

  /** Raft addresses from the servers' tags; a bad tag is ignored (and logged at DEBUG). */
  private void feedPeers() {
    RaftPeers peers = raft.peers();
    for (Member m : gossip.members()) {
      if (!ServerTags.isServer(m) || m.name().equals(config.node())) {
        continue;
      }
      Optional<String> tag = ServerTags.raftAddress(m);
      if (tag.isEmpty() || tag.get().equals(peers.addressText(m.name()))) {
        continue;
      }
      try {
        peers.put(m.name(), RaftPeers.Address.parse(tag.get()));
        LOG.debug("raft peer address node={} peer={} raft={}", config.node(), m.name(), tag.get());
      } catch (IllegalArgumentException e) {
        LOG.debug("raft tag ignored node={} peer={} error=\"{}\"", config.node(), m.name(), e.getMessage());
      }
    }
  }

  private void decideBootstrap() {
    if (stopped || bootstrapRequested || !raft.awaitingBootstrap()) {
      return;
    }
    int expect = config.bootstrapExpect().orElse(1);
    BootstrapPlan.Decision d = BootstrapPlan.decide(config.node(), expect, gossip.members());
    if (d instanceof BootstrapPlan.JoinExisting j) {
      requestBootstrap(Set.of(), "bootstrap skipped: " + j.reason() + "; waiting for a leader to add this server");
    } else if (d instanceof BootstrapPlan.Wait w) {
      candidateVoters = null;
      String reason = "waiting for bootstrap-expect: " + w.reason();
      if (!reason.equals(waitReason)) {
        LOG.info("bootstrap waiting node={} expect={} seen=\"{}\"", config.node(), expect, w.reason());
      }
      waitReason = reason;
    } else {
      BootstrapPlan.Bootstrap b = (BootstrapPlan.Bootstrap) d;
      long now = nowMs.getAsLong();
      if (!b.voters().equals(candidateVoters)) {
        candidateVoters = b.voters();
        candidateSinceMs = now;
        waitReason = "bootstrap-expect: settling on voters " + b.voters();
      }
      if (now - candidateSinceMs >= settings.bootstrapSettle().toMillis()) {
        requestBootstrap(b.voters(), "bootstrap: forming the group with voters " + b.voters() + " (" + b.reason() + ")");
      }
    }
  }

  private void requestBootstrap(Set<String> voters, String why) {
    LOG.info("{} node={} expect={}", why, config.node(), config.bootstrapExpect().orElse(1));
    bootstrapRequested = true;
    waitReason = "raft starting";
    raft.bootstrap(voters).onFailure(e ->
        LOG.error("bootstrap failed node={} error=\"{}\"", config.node(), e.toString()));
  }

  /** Periodic: bootstrap, peers and tags. */
  private void sync() {
    if (stopped) {
      return;
    }
    feedPeers();
    if (raft.awaitingBootstrap()) {
      decideBootstrap();
      return;
    }
    Future<RaftRuntime> r = raft.raft();
    if (!r.isComplete() || r.failed()) {
      return;
    }
    r.result().state().onSuccess(s -> {
      if (!stopped && s.failure().isEmpty()) {
        gossip.setTags(tags(Optional.of(s)));
      }
    });
  }

  @Override
  public ClusterView view() {
    ClusterView inner = raft.view();
    return () -> {
      GossipRuntime g = gossip;
      if (g == null) {
        return inner.snapshot();
      }
      return inner.snapshot().map(s -> {
        RaftStatus status = s.raft();
        if (raft.awaitingBootstrap() && !waitReason.isEmpty()) {
          status = RaftStatus.notRunning(waitReason);
        }
        return new ClusterSnapshot(g.self(), g.members(), status, s.configuration());
      });
    };
  }

  @Override
  public ClusterControl control() {
    return control(true);
  }

  /** With {@code forwarding}, operator requests on a follower go to the leader's HTTP API. */
  private ClusterControl control(boolean forwarding) {
    ClusterControl inner = raft.control();
    return new ClusterControl() {
      @Override
      public Future<Void> leave() {
        return inner.leave().recover(e -> Future.succeededFuture()).compose(v -> {
          GossipRuntime g = gossip;
          return g == null ? Future.succeededFuture() : g.leave(settings.gossip().leaveBound());
        });
      }

      @Override
      public Future<Void> transferLeadership(Optional<String> targetId) {
        return leaderElsewhere(forwarding).compose(http -> http.isPresent()
            ? operator.transferLeadership(http.get(), targetId) : inner.transferLeadership(targetId));
      }

      @Override
      public Future<Void> removePeer(String id) {
        return leaderElsewhere(forwarding).compose(http -> http.isPresent()
            ? operator.removePeer(http.get(), id) : inner.removePeer(id));
      }

      @Override
      public ClusterControl direct() {
        return forwarding ? control(false) : this;
      }
    };
  }

  /** The leader's HTTP address when another server leads and gossip knows where it listens. */
  private Future<Optional<String>> leaderElsewhere(boolean forwarding) {
    Future<RaftRuntime> r = raft.raft();
    if (!forwarding || !r.isComplete() || r.failed()) {
      return Future.succeededFuture(Optional.empty());
    }
    return r.result().state().map(s -> s.isLeader() || s.leaderId().isEmpty()
        ? Optional.<String>empty() : httpAddressOf(s.leaderId()));
  }

  @Override
  public Future<Void> stop() {
    Promise<Void> halted = Promise.promise();
    Runnable halt = () -> {
      stopped = true;
      if (syncTimer >= 0) {
        vertx.cancelTimer(syncTimer);
      }
      Autopilot a = autopilot;
      if (a != null) {
        a.stop();
      }
      halted.complete();
    };
    if (context == null) {
      return raft.stop();
    }
    context.runOnContext(v -> halt.run());
    return halted.future()
        .compose(v -> gossip == null ? Future.succeededFuture() : gossip.stop())
        .compose(v -> raft.stop())
        .eventually(() -> forwarder == null ? Future.succeededFuture() : forwarder.close());
  }

  /**
   * Where autopilot reads the cluster-wide override of its thresholds: the value of the KV key
   * {@link AutopilotSettings#KEY} in the replicated store, e.g.
   * {@code () -> kv.get(AutopilotSettings.KEY).entry().map(KvEntry::value)}. Call before start;
   * must be thread-safe and non-blocking.
   */
  public ServerRuntime withClusterSettings(Supplier<Optional<byte[]>> source) {
    this.clusterSettings = java.util.Objects.requireNonNull(source, "source");
    return this;
  }

  /**
   * The HTTP address of the live server {@code node} as gossip shows it (this server's own when it
   * is {@code node}); empty before start or when gossip does not know it. Thread-safe.
   */
  public Optional<String> httpAddressOf(String node) {
    GossipRuntime g = gossip;
    if (config != null && node.equals(config.node())) {
      return Optional.ofNullable(httpAddress);
    }
    return g == null ? Optional.empty() : ServerTags.httpAddressOf(g.members(), node);
  }

  /** This daemon's gossip (after start). */
  public GossipRuntime gossip() {
    return gossip;
  }

  public RaftClusterRuntime raft() {
    return raft;
  }

  public Autopilot autopilot() {
    return autopilot;
  }
}
