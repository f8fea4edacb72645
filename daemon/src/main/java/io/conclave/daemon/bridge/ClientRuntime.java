package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.config.Version;
import io.conclave.daemon.gossip.GossipRuntime;
import io.conclave.daemon.runtime.ClusterRuntime;
import io.conclave.daemon.http.Forwarder;
import io.conclave.daemon.kv.KvProxy;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.ext.web.Router;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import io.conclave.daemon.runtime.RuntimeContext;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client agent (no {@code --server}): gossip only. It learns the leader from the servers' tags
 * ({@link LeaderTags}) every sync period; "last contact" is the last time gossip showed that leader
 * live, so /v1/health passes while this member is alive and a leader is known and recently seen.
 */
public final class ClientRuntime implements ClusterRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(ClientRuntime.class);

  private final BridgeSettings settings;
  private final long startNanos = System.nanoTime();
  private volatile GossipRuntime gossip;
  private volatile Optional<LeaderTags.Leader> leader = Optional.empty();
  private volatile Optional<Instant> leaderSeenAt = Optional.empty();
  private InstantSource clock;
  private Vertx vertx;
  private long syncTimer = -1;
  private String node;
  private volatile Forwarder forwarder;
  private final OperatorForwarding operator = new OperatorForwarding(() -> forwarder);

  public ClientRuntime(BridgeSettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<Void> start(RuntimeContext ctx) {
    DaemonConfig config = ctx.config();
    node = config.node();
    clock = ctx.clock();
    vertx = ctx.context().owner();
    forwarder = new Forwarder(vertx, node).bindMetrics(ctx.registry());
    gossip = new GossipRuntime(ctx.context(), config.node(), config.advertise(), ctx.gossipUdp(), ctx.gossipTcp(),
        config.join(), settings.gossip(), ctx.registry(), () -> (System.nanoTime() - startNanos) / 1_000_000,
        new SplittableRandom());
    Map<String, String> tags = new TreeMap<>();
    tags.put(ServerTags.ROLE, Member.ROLE_CLIENT);
    tags.put(ServerTags.VERSION, Version.current());
    return gossip.start(tags).onSuccess(v ->
        syncTimer = vertx.setPeriodic(settings.syncPeriod().toMillis(), t -> sync()));
  }

  private void sync() {
    Optional<LeaderTags.Leader> now = LeaderTags.pick(gossip.members());
    Optional<LeaderTags.Leader> before = leader;
    if (!now.map(LeaderTags.Leader::id).equals(before.map(LeaderTags.Leader::id))) {
      LOG.info("leader {} node={} leader={} raft={} term={}", now.isPresent() ? "known" : "unknown", node,
          now.map(LeaderTags.Leader::id).orElse("none"), now.map(LeaderTags.Leader::raftAddress).orElse(""),
          now.map(l -> Long.toString(l.term())).orElse(""));
    }
    leader = now;
    if (now.isPresent()) {
      leaderSeenAt = Optional.of(clock.instant());
    }
  }

  /** The KV API, handed to the servers (see {@link KvProxy}). */
  @Override
  public void mountHttp(Vertx vertx, Router router, MeterRegistry registry) {
    new KvProxy(vertx, forwarder, this::serversLeaderFirst, node + "-" + UUID.randomUUID(),
        settings.forwardBound()).mount(router);
  }

  /** Live servers' HTTP addresses: the leader (as the servers gossip it) first, the rest shuffled. */
  List<String> serversLeaderFirst() {
    GossipRuntime g = gossip;
    if (g == null) {
      return List.of();
    }
    List<Member> members = g.members();
    Optional<String> leaderHttp = LeaderTags.pick(members).flatMap(l -> ServerTags.httpAddressOf(members, l.id()));
    List<String> rest = new ArrayList<>();
    for (Member m : members) {
      if (ServerTags.isServer(m) && ServerTags.isLive(m)) {
        ServerTags.httpAddress(m).filter(a -> !leaderHttp.equals(Optional.of(a))).ifPresent(rest::add);
      }
    }
    Collections.shuffle(rest, ThreadLocalRandom.current());
    List<String> out = new ArrayList<>();
    leaderHttp.ifPresent(out::add);
    out.addAll(rest);
    return out;
  }

  @Override
  public ClusterView view() {
    return () -> {
      GossipRuntime g = gossip;
      Optional<LeaderTags.Leader> l = leader;
      RaftStatus status = new RaftStatus(RaftRole.CLIENT, l.map(LeaderTags.Leader::id).orElse(""),
          l.map(LeaderTags.Leader::raftAddress).orElse(""), l.map(LeaderTags.Leader::term).orElse(0L), 0,
          l.isPresent() ? leaderSeenAt : Optional.empty(), "");
      return Future.succeededFuture(new ClusterSnapshot(g.self(), g.members(), status, Optional.empty()));
    };
  }

  @Override
  public ClusterControl control() {
    return control(true);
  }

  /** Operator requests go to the leader's HTTP API (once: a forwarded one is refused here). */
  private ClusterControl control(boolean forwarding) {
    return new ClusterControl() {
      @Override
      public Future<Void> leave() {
        GossipRuntime g = gossip;
        return g == null ? Future.succeededFuture() : g.leave(settings.gossip().leaveBound());
      }

      @Override
      public Future<Void> transferLeadership(Optional<String> targetId) {
        return leaderHttp(forwarding).map(http -> operator.transferLeadership(http, targetId)).orElseGet(ClientRuntime::unavailable);
      }

      @Override
      public Future<Void> removePeer(String id) {
        return leaderHttp(forwarding).map(http -> operator.removePeer(http, id)).orElseGet(ClientRuntime::unavailable);
      }

      @Override
      public ClusterControl direct() {
        return forwarding ? control(false) : this;
      }
    };
  }

  private Optional<String> leaderHttp(boolean forwarding) {
    GossipRuntime g = gossip;
    if (!forwarding || g == null) {
      return Optional.empty();
    }
    List<Member> members = g.members();
    return LeaderTags.pick(members).flatMap(l -> ServerTags.httpAddressOf(members, l.id()));
  }

  private static Future<Void> unavailable() {
    return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.NO_LEADER,
        "No cluster leader known to this client agent (gossip shows none with an HTTP address)"));
  }

  @Override
  public Future<Void> stop() {
    if (vertx != null && syncTimer >= 0) {
      vertx.cancelTimer(syncTimer);
    }
    GossipRuntime g = gossip;
    Forwarder f = forwarder;
    return (g == null ? Future.<Void>succeededFuture() : g.stop())
        .eventually(() -> f == null ? Future.succeededFuture() : f.close());
  }

  public GossipRuntime gossip() {
    return gossip;
  }
}
