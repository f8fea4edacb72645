package io.conclave.daemon.gossip;

import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.config.JoinAddress;
import io.conclave.daemon.transport.FramedTransport;
import io.conclave.daemon.transport.InboundFrame;
import io.conclave.daemon.transport.UdpTransport;
import io.conclave.membership.member.Address;
import io.conclave.membership.swim.MemberEvent;
import io.conclave.membership.swim.Outputs;
import io.conclave.membership.swim.SwimConfig;
import io.conclave.membership.swim.SwimNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one {@link SwimNode} from one Vert.x context: a one-shot timer armed at the node's
 * {@link SwimNode#nextDeadlineMs()} ticks it, gossip datagrams are stepped, push-pull streams go out
 * as {@link FramedTransport#request} (one frame out, one back) and come in as frames answered on
 * their connection. {@code --join} seeds are retried with exponential back-off until one answers.
 *
 * <p>Time: the node sees a monotonic clock in ms ({@code nowMs}, never wall time).
 *
 * <p>Threading: every method may be called from any thread; the work hops onto the context.
 * {@link #members()} and {@link #self()} read a snapshot refreshed after every input, so the HTTP
 * API and other runtimes read them without touching the core.
 */
public final class GossipRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(GossipRuntime.class);

  /** Longest a timer may sleep even when the node has nothing due (guards against a missed re-arm). */
  static final long TIMER_MAX_MS = 500;

  /** How often the core's counters are copied out for the meter registry (scrapes run elsewhere). */
  static final long METRICS_PERIOD_MS = 1_000;

  private final Context context;
  private final Vertx vertx;
  private final String name;
  private final Address address;
  private final UdpTransport udp;
  private final FramedTransport tcp;
  private final List<Address> seeds;
  private final GossipSettings settings;
  private final LongSupplier nowMs;
  private final RandomGenerator random;
  private final GossipMetrics metrics;
  private final List<Consumer<MemberEvent>> listeners = new CopyOnWriteArrayList<>();

  private SwimNode node;
  private long timer = -1;
  private long metricsTimer = -1;
  private long timerDueMs = Long.MAX_VALUE;
  private long joinTimer = -1;
  private long joinDelayMs;
  private boolean stopped;
  private volatile List<Member> members = List.of();
  private volatile Member self;
  private volatile boolean joined;

  /**
   * @param name this member's name ({@code --node})
   * @param advertiseHost the address others reach this member at; the gossip port is the UDP port
   * @param join {@code --join} seeds; this member's own address is skipped, so every host can share one list
   * @param nowMs a monotonic clock in ms
   */
  public GossipRuntime(Context context, String name, String advertiseHost, UdpTransport udp, FramedTransport tcp,
      List<JoinAddress> join, GossipSettings settings, MeterRegistry registry, LongSupplier nowMs,
      RandomGenerator random) {
    this.context = Objects.requireNonNull(context, "context");
    this.vertx = context.owner();
    this.name = Objects.requireNonNull(name, "name");
    this.address = new Address(advertiseHost, udp.port());
    this.udp = udp;
    this.tcp = tcp;
    this.settings = Objects.requireNonNull(settings, "settings");
    this.nowMs = nowMs;
    this.random = random;
    this.metrics = new GossipMetrics(registry);
    List<Address> s = new ArrayList<>();
    for (JoinAddress j : join) {
      Address a = new Address(j.host(), j.port());
      if (!isSelf(a) && !s.contains(a)) {
        s.add(a);
      }
    }
    this.seeds = List.copyOf(s);
  }

  private boolean isSelf(Address a) {
    if (a.port() != address.port()) {
      return false;
    }
    return a.host().equals(address.host())
        || (isLoopback(a.host()) && isLoopback(address.host()));
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /** Creates the node with {@code tags}, wires the transports, starts the timer and the join. */
  public Future<Void> start(Map<String, String> tags) {
    return call(() -> {
      check(node == null, "GossipRuntime.start called twice");
      SwimConfig swim = settings.swim().toBuilder()
          .packetBytesMax(Math.min(settings.swim().packetBytesMax(), udp.payloadBytesMax())).build();
      node = new SwimNode(swim, name, address, tags, 0, random, nowMs.getAsLong());
      metricsTimer = vertx.setPeriodic(METRICS_PERIOD_MS, t -> metrics.publish(node.counters().asMap()));
      udp.handler(this::onPacket);
      tcp.handler(this::onFrame);
      LOG.info("gossip starting node={} addr={} seeds={} tags={}", name, address, seeds, tags);
      refresh();
      if (seeds.isEmpty()) {
        joined = true; // the first member: nobody to join; others join us
      } else {
        joinDelayMs = settings.joinBackoffMin().toMillis();
        tryJoin();
      }
      arm();
      return Future.succeededFuture();
    });
  }

  private void tryJoin() {
    joinTimer = -1;
    if (stopped || node.isLeaving()) {
      return;
    }
    if (node.isJoined()) {
      markJoined();
      return;
    }
    LOG.debug("gossip join attempt node={} seeds={}", name, seeds);
    execute(node.join(seeds, nowMs.getAsLong()));
    long delay = joinDelayMs;
    joinDelayMs = Math.min(joinDelayMs * 2, settings.joinBackoffMax().toMillis());
    // jitter: up to a quarter more, so daemons started together do not retry in lock step
    joinTimer = vertx.setTimer(delay + random.nextLong(delay / 4 + 1), t -> tryJoin());
  }

  private void markJoined() {
    if (!joined) {
      joined = true;
      LOG.info("gossip joined node={} members={}", name, node.liveMemberCount());
    }
    if (joinTimer >= 0) {
      vertx.cancelTimer(joinTimer);
      joinTimer = -1;
    }
  }

  private void onPacket(SocketAddress sender, byte[] payload) {
    if (stopped) {
      return;
    }
    Address from;
    try {
      from = new Address(sender.host(), sender.port());
    } catch (IllegalArgumentException e) {
      metrics.dropped("bad_sender");
      return;
    }
    execute(node.step(from, payload, nowMs.getAsLong()));
  }

  private void onFrame(InboundFrame frame) {
    if (stopped) {
      frame.channel().close();
      return;
    }
    Address from;
    try {
      from = new Address(frame.remote().host(), frame.remote().port());
    } catch (IllegalArgumentException e) {
      metrics.dropped("bad_sender");
      frame.channel().close();
      return;
    }
    Outputs.StreamReply r = node.stepStream(from, frame.payload(), nowMs.getAsLong());
    if (r.reply() == null) {
      metrics.dropped("bad_stream");
      frame.channel().close();
    } else if (!frame.channel().reply(r.reply())) {
      metrics.dropped("stream_reply_failed");
    }
    execute(r.outputs());
  }

  private void onTimer() {
    timer = -1;
    timerDueMs = Long.MAX_VALUE;
    if (stopped) {
      return;
    }
    execute(node.tick(nowMs.getAsLong()));
  }

  /** Carries out the node's outputs in order: packets, streams, then events; re-arms the timer. */
  private void execute(Outputs out) {
    for (Outputs.Packet p : out.packets()) {
      udp.send(p.bytes(), p.to().host(), p.to().port());
    }
    for (Outputs.StreamRequest s : out.streams()) {
      openStream(s);
    }
    refresh();
    for (MemberEvent e : out.events()) {
      logEvent(e);
      metrics.event(e);
      for (Consumer<MemberEvent> l : listeners) {
        try {
          l.accept(e);
        } catch (RuntimeException ex) {
          LOG.error("member event listener failed node={} event={} error=\"{}\"", name, e.kind(), ex.toString(), ex);
        }
      }
    }
    if (!joined && node.isJoined()) {
      markJoined();
    }
    arm();
  }

  private void openStream(Outputs.StreamRequest s) {
    Address to = s.to();
    tcp.request(to.host(), to.port(), s.payload(), settings.streamTimeout()).onComplete(ar -> {
      if (stopped) {
        return;
      }
      if (ar.succeeded()) {
        execute(node.stepStreamReply(to, ar.result(), nowMs.getAsLong()));
      } else {
        LOG.debug("gossip push-pull failed node={} to={} join={} error=\"{}\"", name, to, s.join(), ar.cause().toString());
        execute(node.streamFailed(to, nowMs.getAsLong()));
      }
    });
  }

  /** Arms the one-shot timer at the node's next deadline, unless one is already due sooner. */
  private void arm() {
    if (stopped) {
      return;
    }
    long now = nowMs.getAsLong();
    long due = Math.min(node.nextDeadlineMs(), now + TIMER_MAX_MS);
    if (timer >= 0 && timerDueMs <= due) {
      return;
    }
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    timerDueMs = due;
    timer = vertx.setTimer(Math.max(1, due - now), t -> onTimer());
  }

  private void refresh() {
    List<Member> view = new ArrayList<>();
    for (io.conclave.membership.member.Member m : node.members()) {
      view.add(MemberViews.toCluster(m));
    }
    Member me = MemberViews.toCluster(node.self());
    if (node.isLeaving() && !node.leaveSettled() && node.liveMemberCount() > 0) {
      // Serf's "leaving" (Status 2): the Leave rumor is still going out
      me = new Member(me.name(), me.address(), me.gossipPort(), me.tags(), MemberState.LEAVING, me.incarnation());
      view.set(0, me); // members() lists this member first
    }
    members = List.copyOf(view);
    self = me;
  }

  private void logEvent(MemberEvent e) {
    io.conclave.membership.member.Member m = e.member();
    LOG.info("member {} node={} member={} addr={} role={} incarnation={} previous={}",
        e.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '), name, m.name(), m.address(),
        m.role().isEmpty() ? "none" : m.role(), m.incarnation(),
        e.previous() == null ? "none" : e.previous().name().toLowerCase(java.util.Locale.ROOT));
  }

  /** Replaces this member's tags (gossiped at a higher incarnation); no-op when unchanged. */
  public Future<Void> setTags(Map<String, String> tags) {
    return call(() -> {
      if (stopped || node.isLeaving() || node.self().tags().equals(tags)) {
        return Future.succeededFuture();
      }
      LOG.debug("gossip tags changed node={} tags={}", name, tags);
      execute(node.setTags(tags, nowMs.getAsLong()));
      return Future.succeededFuture();
    });
  }

  /**
   * Graceful leave: gossips the Leave rumor and keeps gossiping until it is out
   * ({@link SwimNode#leaveSettled()}) or {@code bound} has passed. Idempotent.
   */
  public Future<Void> leave(Duration bound) {
    return call(() -> {
      if (stopped) {
        return Future.succeededFuture();
      }
      if (!node.isLeaving()) {
        LOG.info("gossip leaving node={} members={}", name, node.liveMemberCount());
        execute(node.leave(nowMs.getAsLong()));
      }
      if (node.liveMemberCount() == 0) {
        LOG.info("gossip left node={} (no live member to tell)", name);
        return Future.succeededFuture(); // alone: the rumor has nobody to reach
      }
      Promise<Void> done = Promise.promise();
      long deadline = nowMs.getAsLong() + bound.toMillis();
      long poll = vertx.setPeriodic(20, t -> {
        if (stopped || node.leaveSettled() || nowMs.getAsLong() >= deadline) {
          if (!node.leaveSettled() && !stopped) {
            LOG.warn("gossip leave not settled within {} ms node={}", bound.toMillis(), name);
          }
          done.tryComplete();
        }
      });
      return done.future().onComplete(x -> {
            vertx.cancelTimer(poll);
            refresh();
          })
          .onSuccess(x -> LOG.info("gossip left node={}", name));
    });
  }

  /** Stops timers and input; the daemon closes the transports afterwards. Idempotent. */
  public Future<Void> stop() {
    return call(() -> {
      stopped = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      if (joinTimer >= 0) {
        vertx.cancelTimer(joinTimer);
      }
      if (metricsTimer >= 0) {
        vertx.cancelTimer(metricsTimer);
      }
      if (node != null) {
        metrics.publish(node.counters().asMap());
      }
      return Future.succeededFuture();
    });
  }

  /** Called on the context for every member event, after the member views were refreshed. */
  public void addListener(Consumer<MemberEvent> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Every member known to gossip, this one included (a snapshot; any thread). */
  public List<Member> members() {
    return members;
  }

  /** This member's own record (a snapshot; any thread); null before start. */
  public Member self() {
    return self;
  }

  public Optional<Member> member(String memberName) {
    return members.stream().filter(m -> m.name().equals(memberName)).findFirst();
  }

  /** Whether a seed answered (true at once without seeds). */
  public boolean isJoined() {
    return joined;
  }

  public String name() {
    return name;
  }

  public Address address() {
    return address;
  }

  /** The seeds tried at join, without this member's own address. */
  public List<Address> seeds() {
    return seeds;
  }

  public Context context() {
    return context;
  }

  /** Gossip inputs dropped by the runtime (not the core) for {@code reason}. */
  public long droppedCount(String reason) {
    return metrics.droppedCount(reason);
  }

  /** The core's counters, read on the context. */
  public Future<Map<String, Long>> counters() {
    return call(() -> Future.succeededFuture(node.counters().asMap()));
  }

  private <T> Future<T> call(Supplier<Future<T>> action) {
    if (Vertx.currentContext() == context) {
      return guarded(action);
    }
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> guarded(action).onComplete(promise));
    return promise.future();
  }

  private static <T> Future<T> guarded(Supplier<Future<T>> action) {
    try {
      return action.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  static void check(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new IllegalStateException(String.format(fmt, args));
    }
  }
}
