package io.conclave.membership.swim;

import io.conclave.membership.gossip.BroadcastQueue;
import io.conclave.membership.member.Address;
import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;
import io.conclave.membership.swim.MemberEvent.Kind;
import io.conclave.membership.swim.Outputs.Packet;
import io.conclave.membership.swim.Outputs.StreamReply;
import io.conclave.membership.swim.Outputs.StreamRequest;
import io.conclave.membership.wire.Codec;
import io.conclave.membership.wire.Decoded;
import io.conclave.membership.wire.DropReason;
import io.conclave.membership.wire.Message;
import io.conclave.membership.wire.Message.Ack;
import io.conclave.membership.wire.Message.Alive;
import io.conclave.membership.wire.Message.Dead;
import io.conclave.membership.wire.Message.Leave;
import io.conclave.membership.wire.Message.Nack;
import io.conclave.membership.wire.Message.Ping;
import io.conclave.membership.wire.Message.PingReq;
import io.conclave.membership.wire.Message.PushPull;
import io.conclave.membership.wire.Message.Suspect;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * One gossip member: SWIM failure detection with the Lifeguard extensions, rumor mongering and
 * push-pull anti-entropy, as a pure single-threaded state machine.
 *
 * <p>Time is the {@code nowMs} argument of every call: milliseconds of a monotonic clock the runtime
 * owns (never wall time); it must not go backwards. The runtime calls {@link #tick} at
 * {@link #nextDeadlineMs()} (or on any periodic timer of at most ~50 ms), {@link #step} for each UDP
 * packet, and {@link #stepStream}/{@link #stepStreamReply} for push-pull streams. Every call returns the
 * {@link Outputs} the runtime must carry out. Randomness comes only from the injected generator, so the
 * same seed and the same inputs give the same outputs.
 */
public final class SwimNode {
  private static final long REAP_CHECK_MS = 1000;
  private static final int REPROBES_QUEUED_MAX = 4;

  private static final class Peer {
    Member member;
    long stateChangedMs;

    Peer(Member member, long nowMs) {
      this.member = member;
      this.stateChangedMs = nowMs;
    }
  }

  /** The probe round in flight (SWIM §3.1). */
  private static final class Probe {
    final long seq;
    final String target;
    final long startMs;
    final long directDeadlineMs;
    boolean indirect;
    long endMs; // meaningful once indirect
    int expectedNacks;
    int nacks;

    Probe(long seq, String target, long startMs, long directDeadlineMs) {
      this.seq = seq;
      this.target = target;
      this.startMs = startMs;
      this.directDeadlineMs = directDeadlineMs;
    }
  }

  /** A ping this member sends as a helper for someone's PingReq. */
  private record IndirectProbe(long originSeq, Address origin, long nackAtMs, long expireAtMs) {}

  private final SwimConfig config;
  private final RandomGenerator random;
  private final String selfName;
  private final SwimCounters counters = new SwimCounters();
  private final Awareness awareness;
  private final BroadcastQueue broadcasts;

  private Member self; // invariant: state ALIVE, or LEFT once leave() was called
  private boolean leaving;
  private boolean joined;

  private final Map<String, Peer> peers = new HashMap<>(); // never contains selfName
  private final ArrayList<String> peerNames = new ArrayList<>(); // same keys, for random picks
  private final Map<String, Integer> peerIndex = new HashMap<>(); // invariant: peerNames.get(peerIndex.get(n)) == n
  private int livePeers; // invariant: number of peers ALIVE or SUSPECT
  private int deadPeers; // invariant: number of peers FAILED or LEFT
  private final Map<String, Suspicion> suspicions = new HashMap<>(); // invariant: keys are SUSPECT peers

  private final ArrayList<String> probeOrder = new ArrayList<>();
  private int probeCursor;
  private Probe probe; // null between rounds
  private long nextProbeMs;
  private long seq;
  private final Map<Long, IndirectProbe> indirectProbes = new HashMap<>();
  private final List<String> reprobes = new ArrayList<>(); // invariant: size <= REPROBES_QUEUED_MAX

  private long nextGossipMs;
  private long nextPushPullMs;
  private long nextReconnectMs;
  private long nextReapMs;
  private long lastNowMs;

  private final List<Packet> outPackets = new ArrayList<>();
  private final List<StreamRequest> outStreams = new ArrayList<>();
  private final List<MemberEvent> outEvents = new ArrayList<>();

  /**
   * @param incarnation where this member's incarnation starts; a restarted member may start at 0, it
   *     refutes any older rumor about itself by jumping above it
   * @param random the only source of randomness (e.g. {@code new SplittableRandom(seed)})
   * @param nowMs the runtime's monotonic clock now
   */
  public SwimNode(SwimConfig config, String name, Address address, Map<String, String> tags,
      long incarnation, RandomGenerator random, long nowMs) {
    this.config = Objects.requireNonNull(config, "config");
    this.random = Objects.requireNonNull(random, "random");
    this.self = new Member(name, address, tags, incarnation, MemberState.ALIVE);
    this.selfName = name;
    checkAliveFits(self);
    this.awareness = new Awareness(config.awarenessMaxMultiplier());
    this.broadcasts = new BroadcastQueue(config.broadcastQueueMax());
    // Stagger the periodic work so members started together do not act in lock step.
    this.nextProbeMs = nowMs + random.nextLong(config.probeIntervalMs());
    this.nextGossipMs = nowMs + random.nextLong(config.gossipIntervalMs());
    this.nextPushPullMs = config.pushPullIntervalMs() == 0
        ? Long.MAX_VALUE : nowMs + 1 + random.nextLong(config.pushPullIntervalMs());
    this.nextReconnectMs = config.reconnectIntervalMs() == 0
        ? Long.MAX_VALUE : nowMs + 1 + random.nextLong(config.reconnectIntervalMs());
    this.nextReapMs = nowMs + REAP_CHECK_MS;
    this.lastNowMs = nowMs;
  }

  // ================================================================ public API

  /** Runs every timer that is due at {@code nowMs}: probe round, suspicion timeouts, gossip, push-pull. */
  public Outputs tick(long nowMs) {
    advance(nowMs);
    if (!leaving) {
      runProbe(nowMs);
    }
    runIndirectProbes(nowMs);
    runSuspicions(nowMs);
    if (nowMs >= nextGossipMs) {
      nextGossipMs = Math.max(nextGossipMs + config.gossipIntervalMs(), nowMs + 1);
      gossip(nowMs);
    }
    if (!leaving && nowMs >= nextPushPullMs) {
      nextPushPullMs = nowMs + config.pushPullIntervalMs(livePeers + 1);
      pushPull(nowMs);
    }
    if (!leaving && nowMs >= nextReconnectMs) {
      nextReconnectMs = nowMs + config.reconnectIntervalMs();
      reconnect(nowMs);
    }
    if (nowMs >= nextReapMs) {
      nextReapMs = nowMs + REAP_CHECK_MS;
      reap(nowMs);
    }
    return drain();
  }

  /**
   * Handles one UDP packet. {@code from} is the datagram's source, for the runtime's logs; replies go
   * to the addresses carried inside the messages (a member's advertised address may differ from the
   * source of its datagrams). Bad bytes are counted and dropped, never thrown.
   */
  public Outputs step(Address from, byte[] packet, long nowMs) {
    advance(nowMs);
    counters.packetsReceived++;
    counters.bytesReceived += packet == null ? 0 : packet.length;
    Decoded d = Codec.decodePacket(packet);
    if (d instanceof Decoded.Dropped dropped) {
      counters.drop(dropped.reason());
      return drain();
    }
    for (Message m : ((Decoded.Messages) d).messages()) {
      handle(m, nowMs);
    }
    maybeReprobe(nowMs);
    return drain();
  }

  /**
   * Serves a push-pull stream opened by {@code from}: merges its state and answers with ours. A join's
   * stream is served the same way.
   */
  public StreamReply stepStream(Address from, byte[] payload, long nowMs) {
    advance(nowMs);
    Optional<PushPull> pp = decodeStream(payload);
    if (pp.isEmpty() || pp.get().from().equals(selfName)) {
      return new StreamReply(null, drain());
    }
    merge(pp.get(), nowMs);
    byte[] reply = Codec.stream(localState(false));
    counters.streamBytesSent += reply.length;
    return new StreamReply(reply, drain());
  }

  /** Handles the reply to one of our push-pull requests (including a join's). */
  public Outputs stepStreamReply(Address from, byte[] reply, long nowMs) {
    advance(nowMs);
    Optional<PushPull> pp = decodeStream(reply);
    if (pp.isPresent() && !pp.get().from().equals(selfName)) {
      merge(pp.get(), nowMs);
      if (!joined && config.pushPullIntervalMs() > 0) {
        // Just synced in full: stagger the first periodic push-pull over a whole (scaled) interval,
        // so members that join together do not all push-pull in the first base interval.
        nextPushPullMs = nowMs + 1 + random.nextLong(config.pushPullIntervalMs(livePeers + 1));
      }
      joined = true;
    }
    return drain();
  }

  /** The runtime could not complete a push-pull with {@code to} (connect error or timeout). */
  public Outputs streamFailed(Address to, long nowMs) {
    advance(nowMs);
    counters.streamsFailed++;
    return drain();
  }

  /**
   * Joins through seeds: a join push-pull with each seed other than our own address. The runtime retries
   * with back-off until {@link #isJoined()}.
   */
  public Outputs join(Collection<Address> seeds, long nowMs) {
    advance(nowMs);
    broadcastAlive(self);
    for (Address seed : seeds) {
      if (!seed.equals(self.address())) {
        openStream(seed, true);
      }
    }
    return drain();
  }

  /**
   * Graceful leave: gossips a Leave rumor and stops probing. The runtime keeps calling tick until
   * {@link #leaveSettled()} (or its own timeout), then stops.
   */
  public Outputs leave(long nowMs) {
    advance(nowMs);
    if (!leaving) {
      leaving = true;
      probe = null;
      self = self.withState(MemberState.LEFT);
      broadcasts.enqueue(selfName, Codec.frame(new Leave(self.incarnation(), selfName)));
      gossip(nowMs);
    }
    return drain();
  }

  /** Replaces this member's tags; the incarnation rises so the change supersedes older rumors. */
  public Outputs setTags(Map<String, String> tags, long nowMs) {
    advance(nowMs);
    if (leaving) {
      throw new IllegalStateException("setTags after leave");
    }
    Member next = new Member(selfName, self.address(), tags, self.incarnation() + 1, MemberState.ALIVE);
    checkAliveFits(next);
    self = next;
    broadcastAlive(self);
    return drain();
  }

  /** The earliest time at which {@link #tick} has something to do. */
  public long nextDeadlineMs() {
    long d = Math.min(nextGossipMs, Math.min(nextReapMs, Math.min(nextPushPullMs, nextReconnectMs)));
    if (!leaving) {
      if (probe == null) {
        d = Math.min(d, nextProbeMs);
      } else {
        d = Math.min(d, probe.indirect ? probe.endMs : probe.directDeadlineMs);
      }
    }
    for (Suspicion s : suspicions.values()) {
      d = Math.min(d, s.deadlineMs());
    }
    for (IndirectProbe ip : indirectProbes.values()) {
      d = Math.min(d, ip.nackAtMs() > 0 ? ip.nackAtMs() : ip.expireAtMs());
    }
    return d;
  }

  public Member self() {
    return self;
  }

  public String name() {
    return selfName;
  }

  /** Every member this one knows (itself included), failed and left ones until they are reaped. */
  public List<Member> members() {
    List<Member> all = new ArrayList<>(peers.size() + 1);
    all.add(self);
    for (String name : peerNames) {
      all.add(peers.get(name).member);
    }
    return all;
  }

  public Optional<Member> member(String name) {
    if (name.equals(selfName)) {
      return Optional.of(self);
    }
    Peer p = peers.get(name);
    return p == null ? Optional.empty() : Optional.of(p.member);
  }

  /** Alive and suspect members, this one included. */
  public int liveMemberCount() {
    return livePeers + (leaving ? 0 : 1);
  }

  public boolean isJoined() {
    return joined;
  }

  public boolean isLeaving() {
    return leaving;
  }

  /** After leave(): true once the Leave rumor has been sent its full number of times. */
  public boolean leaveSettled() {
    return leaving && !broadcasts.contains(selfName);
  }

  /** Lifeguard local health: 0 is healthy; probe interval and timeout are scaled by score + 1. */
  public int healthScore() {
    return awareness.score();
  }

  public SwimCounters counters() {
    return counters;
  }

  public SwimConfig config() {
    return config;
  }

  // ================================================================ messages

  private void handle(Message m, long nowMs) {
    if (m instanceof Ping p) {
      onPing(p);
    } else if (m instanceof Ack a) {
      onAck(a, nowMs);
    } else if (m instanceof PingReq r) {
      onPingReq(r, nowMs);
    } else if (m instanceof Nack n) {
      if (probe != null && probe.indirect && probe.seq == n.seq()) {
        probe.nacks++;
        counters.nacksReceived++;
      }
    } else if (m instanceof Alive a) {
      onAlive(a, true, nowMs);
    } else if (m instanceof Suspect s) {
      onSuspect(s, true, nowMs);
    } else if (m instanceof Dead d) {
      onDead(d, nowMs);
    } else if (m instanceof Leave l) {
      onLeave(l, true, nowMs);
    } else {
      counters.drop(DropReason.UNKNOWN_TYPE); // PushPull inside a packet
    }
  }

  private void onPing(Ping p) {
    if (!p.target().equals(selfName)) {
      counters.drop(DropReason.WRONG_TARGET);
      return;
    }
    send(p.replyTo(), List.of(Codec.frame(new Ack(p.seq()))));
  }

  private void onAck(Ack a, long nowMs) {
    if (probe != null && probe.seq == a.seq()) {
      awareness.apply(-1); // Lifeguard: a successful probe is evidence of our own health
      probe = null;
      return;
    }
    IndirectProbe ip = indirectProbes.remove(a.seq());
    if (ip != null) {
      send(ip.origin(), List.of(Codec.frame(new Ack(ip.originSeq()))));
    }
  }

  private void onPingReq(PingReq r, long nowMs) {
    if (r.target().equals(selfName)) {
      send(r.origin(), List.of(Codec.frame(new Ack(r.seq()))));
      return;
    }
    if (indirectProbes.size() >= config.indirectProbesMax()) {
      counters.drop(DropReason.HELPER_BUSY);
      return;
    }
    long mySeq = ++seq;
    indirectProbes.put(mySeq, new IndirectProbe(r.seq(), r.origin(),
        nowMs + config.nackTimeoutMs(), nowMs + config.probeTimeoutMs()));
    send(r.targetAddress(), List.of(Codec.frame(new Ping(mySeq, r.target(), self.address()))));
  }

  /** An Alive rumor (SWIM §4.2): a higher incarnation always wins. */
  private void onAlive(Alive a, boolean rebroadcast, long nowMs) {
    if (a.name().equals(selfName)) {
      boolean differs = !a.address().equals(self.address()) || !a.tags().equals(self.tags());
      if (!leaving && (a.incarnation() > self.incarnation()
          || (a.incarnation() == self.incarnation() && differs))) {
        refute(a.incarnation()); // someone spreads a stale or forged record of us
      }
      return;
    }
    Peer p = peers.get(a.name());
    if (p != null && a.incarnation() <= p.member.incarnation()) {
      return; // equal incarnation never overrides suspect/failed: only the member can refute
    }
    Member next = new Member(a.name(), a.address(), a.tags(), a.incarnation(), MemberState.ALIVE);
    if (p == null) {
      addPeer(next, nowMs);
      emit(Kind.JOINED, next, null);
      if (rebroadcast) {
        broadcastAlive(next);
      }
      return;
    }
    Member prev = p.member;
    setMember(p, next, nowMs);
    suspicions.remove(a.name());
    boolean updated = !prev.address().equals(next.address()) || !prev.tags().equals(next.tags());
    switch (prev.state()) {
      case ALIVE -> {
        if (updated) {
          emit(Kind.UPDATED, next, prev.state());
        }
      }
      case SUSPECT -> {
        counters.suspectRefuted++;
        emit(Kind.ALIVE_AGAIN, next, prev.state());
        if (updated) {
          emit(Kind.UPDATED, next, prev.state());
        }
      }
      case FAILED -> {
        counters.aliveAgain++;
        emit(Kind.ALIVE_AGAIN, next, prev.state());
      }
      case LEFT -> emit(Kind.JOINED, next, prev.state());
    }
    if (rebroadcast) {
      broadcastAlive(next);
    }
  }

  /** A Suspect rumor (SWIM §4.2, Lifeguard §IV-B). */
  private void onSuspect(Suspect s, boolean rebroadcast, long nowMs) {
    if (s.name().equals(selfName)) {
      if (!leaving && s.incarnation() >= self.incarnation()) {
        refute(s.incarnation());
      }
      return;
    }
    Peer p = peers.get(s.name());
    if (p == null || s.incarnation() < p.member.incarnation()) {
      return;
    }
    MemberState state = p.member.state();
    if (state == MemberState.SUSPECT) {
      Suspicion timer = suspicions.get(s.name());
      if (timer != null && timer.confirm(s.from()) && rebroadcast) {
        broadcasts.enqueue(s.name(), Codec.frame(s)); // let others count this confirmation too
      }
      return;
    }
    if (state != MemberState.ALIVE) {
      return; // failed and left members are not suspected again
    }
    Member next = p.member.withIncarnation(s.incarnation(), MemberState.SUSPECT);
    setMember(p, next, nowMs);
    int n = livePeers + 1;
    int k = config.suspicionConfirmations();
    if (n - 2 < k) {
      k = 0;
    }
    suspicions.put(s.name(), new Suspicion(s.from(), k, config.suspicionMinMs(n),
        config.suspicionMaxMs(n), nowMs));
    if (s.from().equals(selfName)) {
      counters.suspicionsRaised++;
    } else {
      counters.suspicionsHeard++;
      if (rebroadcast && config.suspicionReprobes() > 0 && reprobes.size() < REPROBES_QUEUED_MAX
          && random.nextDouble() * Math.max(1, n - 2) < config.suspicionReprobes()) {
        reprobes.add(s.name());
      }
    }
    emit(Kind.SUSPECT, next, MemberState.ALIVE);
    if (rebroadcast) {
      broadcasts.enqueue(s.name(), Codec.frame(s));
    }
  }

  private void onDead(Dead d, long nowMs) {
    if (d.name().equals(selfName)) {
      if (!leaving && d.incarnation() >= self.incarnation()) {
        refute(d.incarnation());
      }
      return;
    }
    Peer p = peers.get(d.name());
    if (p == null || d.incarnation() < p.member.incarnation() || !p.member.state().isLive()) {
      return;
    }
    markFailed(p, d, nowMs);
  }

  private void markFailed(Peer p, Dead d, long nowMs) {
    MemberState prev = p.member.state();
    Member next = p.member.withIncarnation(d.incarnation(), MemberState.FAILED);
    setMember(p, next, nowMs);
    suspicions.remove(d.name());
    counters.failuresLearned++;
    emit(Kind.FAILED, next, prev);
    broadcasts.enqueue(d.name(), Codec.frame(d));
  }

  private void onLeave(Leave l, boolean rebroadcast, long nowMs) {
    if (l.name().equals(selfName)) {
      if (!leaving && l.incarnation() >= self.incarnation()) {
        refute(l.incarnation()); // we did not leave: someone has a stale or forged rumor
      }
      return;
    }
    Peer p = peers.get(l.name());
    if (p == null || l.incarnation() < p.member.incarnation() || !p.member.state().isLive()) {
      return;
    }
    MemberState prev = p.member.state();
    Member next = p.member.withIncarnation(l.incarnation(), MemberState.LEFT);
    setMember(p, next, nowMs);
    suspicions.remove(l.name());
    emit(Kind.LEFT, next, prev);
    if (rebroadcast) {
      broadcasts.enqueue(l.name(), Codec.frame(l));
    }
  }

  /** SWIM §4.2: answer a suspicion of ourselves with a higher incarnation. Lifeguard: it costs health. */
  private void refute(long accusedIncarnation) {
    long next = Math.max(self.incarnation(), accusedIncarnation) + 1;
    self = self.withIncarnation(next, MemberState.ALIVE);
    counters.refutations++;
    awareness.apply(1);
    broadcastAlive(self);
  }

  // ================================================================ probing

  private void runProbe(long nowMs) {
    if (probe != null) {
      if (!probe.indirect && nowMs >= probe.directDeadlineMs) {
        startIndirect(nowMs);
      } else if (probe.indirect && nowMs >= probe.endMs) {
        probeFailed(nowMs);
      }
    }
    maybeReprobe(nowMs);
    if (probe == null && nowMs >= nextProbeMs) {
      startProbe(nowMs);
    }
  }

  private void startProbe(long nowMs) {
    nextProbeMs = nowMs + awareness.scale(config.probeIntervalMs());
    String target = nextProbeTarget();
    if (target != null) {
      probe(target, nowMs);
    }
  }

  /** Probes a member out of turn because we just heard it is suspected (see suspicionReprobes). */
  private void maybeReprobe(long nowMs) {
    while (probe == null && !leaving && !reprobes.isEmpty()) {
      String target = reprobes.remove(0);
      Peer p = peers.get(target);
      if (p != null && p.member.state() == MemberState.SUSPECT) {
        counters.reprobes++;
        probe(target, nowMs);
      }
    }
  }

  private void probe(String target, long nowMs) {
    Peer p = peers.get(target);
    probe = new Probe(++seq, target, nowMs, nowMs + awareness.scale(config.probeTimeoutMs()));
    counters.probes++;
    List<byte[]> frames = new ArrayList<>(2);
    if (p.member.state() == MemberState.SUSPECT) {
      // Lifeguard: carry the suspicion to the suspect so it can refute at once.
      frames.add(Codec.frame(new Suspect(p.member.incarnation(), target, selfName)));
    }
    frames.add(Codec.frame(new Ping(probe.seq, target, self.address())));
    send(p.member.address(), frames);
  }

  /** Round-robin over the live members in an order reshuffled every round (SWIM §4.3). */
  private String nextProbeTarget() {
    for (int scanned = 0; scanned <= probeOrder.size() + 1; scanned++) {
      if (probeCursor >= probeOrder.size()) {
        probeOrder.clear();
        for (String name : peerNames) {
          if (peers.get(name).member.state().isLive()) {
            probeOrder.add(name);
          }
        }
        shuffle(probeOrder);
        probeCursor = 0;
        if (probeOrder.isEmpty()) {
          return null;
        }
      }
      String name = probeOrder.get(probeCursor++);
      Peer p = peers.get(name);
      if (p != null && p.member.state().isLive()) {
        return name;
      }
    }
    return null;
  }

  private void startIndirect(long nowMs) {
    Peer target = peers.get(probe.target);
    if (target == null || !target.member.state().isLive()) {
      probe = null;
      return;
    }
    probe.indirect = true;
    counters.indirectProbes++;
    List<Peer> helpers = randomPeers(config.indirectChecks(),
        p -> p.member.state() == MemberState.ALIVE && !p.member.name().equals(probe.target));
    byte[] req = Codec.frame(
        new PingReq(probe.seq, probe.target, target.member.address(), self.address()));
    for (Peer h : helpers) {
      send(h.member.address(), List.of(req));
    }
    probe.expectedNacks = helpers.size();
    if (config.retryDirectPing()) {
      send(target.member.address(), List.of(Codec.frame(new Ping(probe.seq, probe.target, self.address()))));
    }
    probe.endMs = nowMs + Math.max(config.probeTimeoutMs(),
        awareness.scale(config.probeIntervalMs() - config.probeTimeoutMs()));
  }

  private void probeFailed(long nowMs) {
    Probe failed = probe;
    probe = null;
    counters.probesFailed++;
    // Lifeguard §IV-A: helpers that could not even send a Nack point at our own health.
    awareness.apply(failed.expectedNacks > 0 ? failed.expectedNacks - failed.nacks : 1);
    Peer p = peers.get(failed.target);
    if (p != null && p.member.state().isLive()) {
      onSuspect(new Suspect(p.member.incarnation(), failed.target, selfName), true, nowMs);
    }
  }

  private void runIndirectProbes(long nowMs) {
    if (indirectProbes.isEmpty()) {
      return;
    }
    Iterator<Map.Entry<Long, IndirectProbe>> it = indirectProbes.entrySet().iterator();
    List<Map.Entry<Long, IndirectProbe>> renack = new ArrayList<>();
    while (it.hasNext()) {
      Map.Entry<Long, IndirectProbe> e = it.next();
      IndirectProbe ip = e.getValue();
      if (ip.nackAtMs() > 0 && nowMs >= ip.nackAtMs()) {
        counters.nacksSent++;
        send(ip.origin(), List.of(Codec.frame(new Nack(ip.originSeq()))));
        // keep forwarding a late Ack until expiry; nackAtMs 0 marks the Nack as sent
        renack.add(Map.entry(e.getKey(), new IndirectProbe(ip.originSeq(), ip.origin(), 0, ip.expireAtMs())));
      } else if (nowMs >= ip.expireAtMs()) {
        it.remove();
      }
    }
    for (Map.Entry<Long, IndirectProbe> e : renack) {
      indirectProbes.put(e.getKey(), e.getValue());
    }
  }

  private void runSuspicions(long nowMs) {
    if (suspicions.isEmpty()) {
      return;
    }
    List<String> expired = new ArrayList<>();
    for (Map.Entry<String, Suspicion> e : suspicions.entrySet()) {
      if (nowMs >= e.getValue().deadlineMs()) {
        expired.add(e.getKey());
      }
    }
    expired.sort(null); // deterministic order
    for (String name : expired) {
      Peer p = peers.get(name);
      check(p != null && p.member.state() == MemberState.SUSPECT,
          "suspicion timer for %s but member is %s", name, p == null ? "unknown" : p.member.state());
      counters.failuresDeclared++;
      markFailed(p, new Dead(p.member.incarnation(), name, selfName), nowMs);
    }
  }

  // ================================================================ dissemination

  private void gossip(long nowMs) {
    if (broadcasts.size() == 0 || config.gossipNodes() == 0) {
      return;
    }
    List<Peer> targets = randomPeers(config.gossipNodes(), p -> p.member.state().isLive()
        || (p.member.state() == MemberState.FAILED
            && nowMs - p.stateChangedMs < config.gossipToTheDeadMs()));
    for (Peer t : targets) {
      List<byte[]> frames = broadcasts.take(config.packetBytesMax() - Codec.PACKET_OVERHEAD_BYTES,
          retransmitLimit(), Codec.MESSAGES_PER_PACKET_MAX);
      if (frames.isEmpty()) {
        return;
      }
      sendPacket(t.member.address(), Codec.packet(frames));
    }
  }

  private void pushPull(long nowMs) {
    List<Peer> target = randomPeers(1, p -> p.member.state() == MemberState.ALIVE);
    if (!target.isEmpty()) {
      openStream(target.get(0).member.address(), false);
    }
  }

  /** Serf's reconnect: push-pull with a failed member, so views rejoin after a partition heals. */
  private void reconnect(long nowMs) {
    if (deadPeers == 0) {
      return;
    }
    List<Peer> target = randomPeers(1, p -> p.member.state() == MemberState.FAILED);
    if (!target.isEmpty()) {
      openStream(target.get(0).member.address(), false);
    }
  }

  private void reap(long nowMs) {
    if (deadPeers == 0) {
      return;
    }
    List<String> gone = new ArrayList<>();
    for (String name : peerNames) {
      Peer p = peers.get(name);
      MemberState s = p.member.state();
      long age = nowMs - p.stateChangedMs;
      if ((s == MemberState.FAILED && age >= config.reapFailedAfterMs())
          || (s == MemberState.LEFT && age >= config.reapLeftAfterMs())) {
        gone.add(name);
      }
    }
    for (String name : gone) {
      Peer p = peers.get(name);
      removePeer(name);
      emit(Kind.REAPED, p.member, p.member.state());
    }
  }

  private void openStream(Address to, boolean join) {
    byte[] payload = Codec.stream(localState(join));
    counters.streamsSent++;
    counters.streamBytesSent += payload.length;
    outStreams.add(new StreamRequest(to, payload, join));
  }

  private PushPull localState(boolean join) {
    return new PushPull(selfName, join, members());
  }

  /**
   * Anti-entropy merge (memberlist mergeState): a remote FAILED becomes a local suspicion, never a
   * failure, so a stale view cannot kill a live member. Alive records learned this way are not
   * re-gossiped (the sender spreads its own news) except the sender's record of itself: that is how a
   * seed announces a joiner.
   */
  private void merge(PushPull pp, long nowMs) {
    for (Member m : pp.members()) {
      switch (m.state()) {
        case ALIVE -> onAlive(new Alive(m.incarnation(), m.name(), m.address(), m.tags()),
            m.name().equals(pp.from()), nowMs);
        case SUSPECT, FAILED -> onSuspect(new Suspect(m.incarnation(), m.name(), pp.from()), true, nowMs);
        case LEFT -> onLeave(new Leave(m.incarnation(), m.name()), true, nowMs);
      }
    }
  }

  private Optional<PushPull> decodeStream(byte[] payload) {
    Decoded d = Codec.decodeStream(payload);
    if (d instanceof Decoded.Dropped dropped) {
      counters.drop(dropped.reason());
      return Optional.empty();
    }
    return Optional.of((PushPull) ((Decoded.Messages) d).messages().get(0));
  }

  private void broadcastAlive(Member m) {
    broadcasts.enqueue(m.name(),
        Codec.frame(new Alive(m.incarnation(), m.name(), m.address(), m.tags())));
  }

  private int retransmitLimit() {
    return BroadcastQueue.retransmitLimit(config.retransmitMult(), livePeers + 1);
  }

  /** Sends frames to one address, filling the rest of the packet with rumors (piggybacking). */
  private void send(Address to, List<byte[]> frames) {
    int used = Codec.PACKET_OVERHEAD_BYTES;
    for (byte[] f : frames) {
      used += f.length;
    }
    List<byte[]> all = new ArrayList<>(frames);
    all.addAll(broadcasts.take(config.packetBytesMax() - used, retransmitLimit(),
        Codec.MESSAGES_PER_PACKET_MAX - frames.size()));
    sendPacket(to, Codec.packet(all));
  }

  private void sendPacket(Address to, byte[] bytes) {
    check(bytes.length <= config.packetBytesMax(), "packet of %d bytes > packetBytesMax %d",
        bytes.length, config.packetBytesMax());
    counters.packetsSent++;
    counters.bytesSent += bytes.length;
    outPackets.add(new Packet(to, bytes));
  }

  // ================================================================ member table

  private void addPeer(Member m, long nowMs) {
    peers.put(m.name(), new Peer(m, nowMs));
    peerIndex.put(m.name(), peerNames.size());
    peerNames.add(m.name());
    count(m.state(), +1);
    checkCounts();
    // A newcomer is probed within the current round, at a random position (memberlist does the same).
    int at = probeCursor + random.nextInt(probeOrder.size() - probeCursor + 1);
    probeOrder.add(at, m.name());
  }

  private void removePeer(String name) {
    Peer p = peers.remove(name);
    int idx = peerIndex.remove(name);
    String last = peerNames.remove(peerNames.size() - 1);
    if (idx < peerNames.size()) {
      peerNames.set(idx, last);
      peerIndex.put(last, idx);
    }
    count(p.member.state(), -1);
    checkCounts();
    suspicions.remove(name);
  }

  private void setMember(Peer p, Member next, long nowMs) {
    check(next.incarnation() >= p.member.incarnation(), "incarnation of %s going back from %d to %d",
        next.name(), p.member.incarnation(), next.incarnation());
    if (next.state() != p.member.state()) {
      count(p.member.state(), -1);
      count(next.state(), +1);
      p.stateChangedMs = nowMs;
    }
    p.member = next;
    checkCounts();
  }

  private void count(MemberState s, int delta) {
    if (s.isLive()) {
      livePeers += delta;
    } else {
      deadPeers += delta;
    }
  }

  private void checkCounts() {
    check(livePeers >= 0 && deadPeers >= 0 && livePeers + deadPeers == peers.size(),
        "member counts live %d + dead %d != %d", livePeers, deadPeers, peers.size());
  }

  /** Up to k distinct random peers passing {@code ok}: rejection sampling, then a scan if short. */
  private List<Peer> randomPeers(int k, Predicate<Peer> ok) {
    List<Peer> picked = new ArrayList<>(k);
    int n = peerNames.size();
    if (k <= 0 || n == 0) {
      return picked;
    }
    for (int attempt = 0; attempt < 4 * k + 4 && picked.size() < k; attempt++) {
      Peer p = peers.get(peerNames.get(random.nextInt(n)));
      if (ok.test(p) && !picked.contains(p)) {
        picked.add(p);
      }
    }
    if (picked.size() < k) {
      int start = random.nextInt(n);
      for (int i = 0; i < n && picked.size() < k; i++) {
        Peer p = peers.get(peerNames.get((start + i) % n));
        if (ok.test(p) && !picked.contains(p)) {
          picked.add(p);
        }
      }
    }
    return picked;
  }

  private void shuffle(List<String> list) {
    for (int i = list.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      String t = list.get(i);
      list.set(i, list.get(j));
      list.set(j, t);
    }
  }

  // ================================================================ plumbing

  private void emit(Kind kind, Member m, MemberState previous) {
    outEvents.add(new MemberEvent(kind, m, previous));
  }

  private void advance(long nowMs) {
    check(nowMs >= lastNowMs, "clock went back from %d to %d ms", lastNowMs, nowMs);
    lastNowMs = nowMs;
  }

  private Outputs drain() {
    if (outPackets.isEmpty() && outStreams.isEmpty() && outEvents.isEmpty()) {
      return Outputs.NONE;
    }
    Outputs out = new Outputs(outPackets, outStreams, outEvents);
    outPackets.clear();
    outStreams.clear();
    outEvents.clear();
    return out;
  }

  private void checkAliveFits(Member m) {
    int frame = Codec.frame(new Alive(m.incarnation(), m.name(), m.address(), m.tags())).length;
    int max = config.packetBytesMax() / 2;
    if (frame > max) {
      throw new IllegalArgumentException(String.format(
          "member record of %s is %d bytes encoded > %d (half a packet): fewer or shorter tags",
          m.name(), frame, max));
    }
  }

  private static void check(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new IllegalStateException(String.format(fmt, args));
    }
  }
}
