package io.conclave.membership.sim;

import io.conclave.membership.member.Address;
import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;
import io.conclave.membership.swim.MemberEvent;
import io.conclave.membership.swim.Outputs;
import io.conclave.membership.swim.SwimConfig;
import io.conclave.membership.swim.SwimNode;
import io.conclave.membership.wire.Codec;
import io.conclave.membership.wire.Message;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * A seeded, single-threaded simulation of many {@link SwimNode}s over a virtual network: one event
 * queue, a virtual clock in ms, uniform packet loss, latency with jitter, partitions, crashed and
 * paused members. One seed fixes everything: the network's random choices and each node's generator.
 * Every member event goes through {@link Invariants} as it happens.
 */
public final class SimCluster {
  private enum Type { TICK, PACKET, STREAM_REQUEST, STREAM_REPLY, STREAM_FAILED, RESUME }

  private record Event(long atMs, long seq, Type type, SimMember to, Address from, byte[] bytes) {}

  /** One simulated host. */
  public static final class SimMember {
    public final String name;
    public final Address address;
    public SwimNode node; // replaced by restart()
    final int index;
    boolean crashed;
    long pausedUntilMs = -1;
    final ArrayDeque<Event> buffered = new ArrayDeque<>();
    long tickAtMs = Long.MAX_VALUE;
    long bytesSent;

    SimMember(int index, String name, Address address, SwimNode node) {
      this.index = index;
      this.name = name;
      this.address = address;
      this.node = node;
    }

    public boolean isCrashed() {
      return crashed;
    }

    public boolean isPaused(long nowMs) {
      return pausedUntilMs > nowMs;
    }

    public long bytesSent() {
      return bytesSent;
    }
  }

  /** Sees every member event as it is emitted. */
  public interface Listener {
    void onEvent(long nowMs, SimMember observer, MemberEvent event);
  }

  private static final int PAUSE_BUFFER_MAX = 4096; // a paused process's socket buffer
  private static final long STREAM_TIMEOUT_MS = 10_000; // memberlist TCPTimeout

  public final long seed;
  private final SwimConfig config;
  private final SplittableRandom random;
  private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) ->
      a.atMs != b.atMs ? Long.compare(a.atMs, b.atMs) : Long.compare(a.seq, b.seq));
  private long eventSeq;
  private long nowMs;
  private final List<SimMember> members = new ArrayList<>();
  private final Map<String, SimMember> byName = new HashMap<>();
  private final Map<Address, SimMember> byAddress = new HashMap<>();
  private final Map<String, Integer> partitionOf = new HashMap<>();
  private final List<Listener> listeners = new ArrayList<>();
  public final Invariants invariants;

  private double lossRate;
  private long latencyMinMs = 1;
  private long latencyJitterMs = 4;
  public long packetsDelivered;
  public long packetsLost;

  public SimCluster(long seed, SwimConfig config) {
    this.seed = seed;
    this.config = config;
    this.random = new SplittableRandom(seed);
    this.invariants = new Invariants(this);
  }

  // ---------------------------------------------------------------- setup and faults

  public SimMember addMember(String name) {
    Address address = new Address("10.0." + (members.size() / 250) + "." + (members.size() % 250 + 1), 8521);
    SwimNode node = new SwimNode(config, name, address,
        Map.of(Member.TAG_ROLE, members.size() < 3 ? "server" : "client"), 0,
        random.split(), nowMs);
    SimMember m = new SimMember(members.size(), name, address, node);
    members.add(m);
    byName.put(name, m);
    byAddress.put(address, m);
    schedule(m);
    return m;
  }

  /** Starts a join of {@code m} through {@code seed}'s address. */
  public void join(SimMember m, SimMember seed) {
    apply(m, m.node.join(List.of(seed.address), nowMs));
  }

  /**
   * Builds a cluster of n members: member 0 first, the others join through member 0 (whose view is
   * the most complete) every {@code joinGapMs}; then runs until every member sees all n alive (or the limit passes).
   * Returns the time that took, or -1.
   */
  public long form(int n, long joinGapMs, long limitMs) {
    long start = nowMs;
    for (int i = 0; i < n; i++) {
      SimMember m = addMember(String.format("n%04d", i));
      if (i > 0) {
        join(m, members.get(0));
      }
      runFor(joinGapMs);
    }
    boolean ok = runUntil(nowMs + limitMs, 250, () -> allSeeAlive(n));
    return ok ? nowMs - start : -1;
  }

  /**
   * Builds a cluster of n members as if each had joined through a seed that already knew everyone: each
   * gets one push-pull reply holding all n members. Skips the join storm (O(n²) rumors) that
   * {@link #form} simulates, so large runs can start from a converged view.
   */
  public void formInstantly(int n) {
    int first = members.size();
    for (int i = 0; i < n; i++) {
      addMember(String.format("n%04d", first + i));
    }
    List<Member> all = new ArrayList<>();
    for (SimMember m : members) {
      all.add(m.node.self());
    }
    byte[] fromFirst = Codec.stream(new Message.PushPull(members.get(0).name, false, all));
    byte[] fromSecond = Codec.stream(new Message.PushPull(members.get(1).name, false, all));
    for (SimMember m : members) {
      SimMember seed = m == members.get(0) ? members.get(1) : members.get(0);
      apply(m, m.node.stepStreamReply(seed.address, m == members.get(0) ? fromSecond : fromFirst, nowMs));
    }
  }

  public void setLoss(double rate) {
    this.lossRate = rate;
  }

  public void setLatency(long minMs, long jitterMs) {
    this.latencyMinMs = minMs;
    this.latencyJitterMs = jitterMs;
  }

  public void setTags(SimMember m, Map<String, String> tags) {
    apply(m, m.node.setTags(tags, nowMs));
  }

  public void leave(SimMember m) {
    apply(m, m.node.leave(nowMs));
  }

  /** Bytes sent by all members so far (UDP and streams). */
  public long bytesSentTotal() {
    long sum = 0;
    for (SimMember m : members) {
      sum += m.bytesSent;
    }
    return sum;
  }

  /**
   * A crashed member's process starts again at the same address under the same name, with a fresh
   * state and incarnation 0 (nothing persisted), and joins through {@code seed}.
   */
  public void restart(SimMember m, SimMember seed) {
    m.node = new SwimNode(config, m.name, m.address, m.node.self().tags(), 0, random.split(), nowMs);
    m.crashed = false;
    m.pausedUntilMs = -1;
    m.buffered.clear();
    m.tickAtMs = Long.MAX_VALUE;
    invariants.forgetObserver(m);
    join(m, seed);
  }

  public void crash(SimMember m) {
    m.crashed = true;
    m.buffered.clear();
  }

  /** The process stops for {@code durationMs}: no ticks, packets pile up in its buffer. */
  public void pause(SimMember m, long durationMs) {
    m.pausedUntilMs = nowMs + durationMs;
    push(new Event(m.pausedUntilMs, eventSeq++, Type.RESUME, m, null, null));
  }

  /** Splits the network: members in different groups cannot reach each other. */
  public void partition(List<List<SimMember>> groups) {
    partitionOf.clear();
    for (int g = 0; g < groups.size(); g++) {
      for (SimMember m : groups.get(g)) {
        partitionOf.put(m.name, g);
      }
    }
  }

  public void heal() {
    partitionOf.clear();
  }

  public void addListener(Listener l) {
    listeners.add(l);
  }

  // ---------------------------------------------------------------- running

  public long nowMs() {
    return nowMs;
  }

  public void runFor(long durationMs) {
    runUntil(nowMs + durationMs, 0, () -> false);
  }

  /**
   * Runs events until {@code endMs}, or until {@code done} holds (checked every {@code checkEveryMs} of
   * simulated time; 0 = never). Returns whether {@code done} held.
   */
  public boolean runUntil(long endMs, long checkEveryMs, BooleanSupplier done) {
    long nextCheck = checkEveryMs > 0 ? nowMs : Long.MAX_VALUE;
    while (true) {
      if (nowMs >= nextCheck) {
        if (done.getAsBoolean()) {
          return true;
        }
        nextCheck = nowMs + checkEveryMs;
      }
      Event e = queue.peek();
      long horizon = Math.min(endMs, nextCheck);
      if (e == null || e.atMs > horizon) {
        nowMs = horizon;
        if (horizon == endMs) {
          return checkEveryMs > 0 && done.getAsBoolean();
        }
        continue;
      }
      queue.poll();
      nowMs = e.atMs;
      dispatch(e);
    }
  }

  private void dispatch(Event e) {
    SimMember m = e.to;
    if (m.crashed) {
      if (e.type == Type.STREAM_REQUEST) {
        failStream(e.from, m.address);
      }
      return;
    }
    if (e.type == Type.RESUME) {
      if (m.pausedUntilMs <= nowMs) {
        while (!m.buffered.isEmpty()) {
          deliver(m, m.buffered.poll());
        }
        apply(m, m.node.tick(nowMs));
      }
      return;
    }
    if (m.isPaused(nowMs)) {
      if (e.type == Type.STREAM_REQUEST) {
        failStream(e.from, m.address);
      } else if (e.type != Type.TICK && m.buffered.size() < PAUSE_BUFFER_MAX) {
        m.buffered.add(e);
      }
      return;
    }
    if (e.type == Type.TICK) {
      if (e.atMs != m.tickAtMs) {
        return; // superseded by an earlier tick
      }
      m.tickAtMs = Long.MAX_VALUE;
      apply(m, m.node.tick(nowMs));
      return;
    }
    deliver(m, e);
  }

  private void deliver(SimMember m, Event e) {
    switch (e.type) {
      case PACKET -> {
        packetsDelivered++;
        apply(m, m.node.step(e.from, e.bytes, nowMs));
      }
      case STREAM_REQUEST -> {
        Outputs.StreamReply reply = m.node.stepStream(e.from, e.bytes, nowMs);
        apply(m, reply.outputs());
        SimMember requester = byAddress.get(e.from);
        if (reply.reply() != null && requester != null) {
          m.bytesSent += reply.reply().length;
          push(new Event(nowMs + latency(), eventSeq++, Type.STREAM_REPLY, requester, m.address, reply.reply()));
        }
      }
      case STREAM_REPLY -> apply(m, m.node.stepStreamReply(e.from, e.bytes, nowMs));
      case STREAM_FAILED -> apply(m, m.node.streamFailed(e.from, nowMs));
      default -> throw new IllegalStateException("unexpected " + e.type);
    }
  }

  private void failStream(Address requesterAddress, Address target) {
    SimMember requester = byAddress.get(requesterAddress);
    if (requester != null) {
      push(new Event(nowMs + STREAM_TIMEOUT_MS / 10, eventSeq++, Type.STREAM_FAILED, requester, target, null));
    }
  }

  private void apply(SimMember m, Outputs out) {
    for (MemberEvent ev : out.events()) {
      invariants.onEvent(nowMs, m, ev);
      for (Listener l : listeners) {
        l.onEvent(nowMs, m, ev);
      }
    }
    for (Outputs.Packet p : out.packets()) {
      m.bytesSent += p.bytes().length;
      SimMember to = byAddress.get(p.to());
      if (to == null || !reachable(m, to) || (lossRate > 0 && random.nextDouble() < lossRate)) {
        packetsLost++;
        continue;
      }
      push(new Event(nowMs + latency(), eventSeq++, Type.PACKET, to, m.address, p.bytes()));
    }
    for (Outputs.StreamRequest s : out.streams()) {
      m.bytesSent += s.payload().length;
      SimMember to = byAddress.get(s.to());
      if (to == null || !reachable(m, to)) {
        push(new Event(nowMs + STREAM_TIMEOUT_MS, eventSeq++, Type.STREAM_FAILED, m, s.to(), null));
      } else {
        push(new Event(nowMs + latency(), eventSeq++, Type.STREAM_REQUEST, to, m.address, s.payload()));
      }
    }
    invariants.afterStep(m);
    schedule(m);
  }

  private boolean reachable(SimMember a, SimMember b) {
    if (partitionOf.isEmpty()) {
      return true;
    }
    return partitionOf.getOrDefault(a.name, -1).equals(partitionOf.getOrDefault(b.name, -1));
  }

  private long latency() {
    return latencyMinMs + (latencyJitterMs > 0 ? random.nextLong(latencyJitterMs + 1) : 0);
  }

  private void schedule(SimMember m) {
    long at = Math.max(nowMs, m.node.nextDeadlineMs());
    if (at < m.tickAtMs || m.tickAtMs < nowMs) { // tickAtMs < now: a tick lost to a pause
      m.tickAtMs = at;
      push(new Event(at, eventSeq++, Type.TICK, m, null, null));
    }
  }

  private void push(Event e) {
    queue.add(e);
  }

  // ---------------------------------------------------------------- views

  public List<SimMember> members() {
    return members;
  }

  public SimMember member(String name) {
    return byName.get(name);
  }

  public List<SimMember> running() {
    List<SimMember> up = new ArrayList<>();
    for (SimMember m : members) {
      if (!m.crashed) {
        up.add(m);
      }
    }
    return up;
  }

  /** The state {@code observer} holds for {@code subject}, or null if it does not know it. */
  public static MemberState stateIn(SimMember observer, String subject) {
    return observer.node.member(subject).map(Member::state).orElse(null);
  }

  public boolean allSeeAlive(int n) {
    for (SimMember m : members) {
      if (!m.crashed && m.node.liveMemberCount() != n) {
        return false;
      }
    }
    return true;
  }

  /** Every running member holds {@code subject} in {@code state}. */
  public boolean allRunningSee(String subject, MemberState state) {
    for (SimMember m : members) {
      if (!m.crashed && !m.name.equals(subject) && stateIn(m, subject) != state) {
        return false;
      }
    }
    return true;
  }

  /** Every running member's view of every member agrees on state (converged). */
  public boolean viewsConverged() {
    SimMember first = null;
    for (SimMember m : members) {
      if (m.crashed) {
        continue;
      }
      if (first == null) {
        first = m;
      }
      for (SimMember s : members) {
        MemberState expect = s.crashed ? MemberState.FAILED : MemberState.ALIVE;
        MemberState seen = s == m ? m.node.self().state() : stateIn(m, s.name);
        if (seen != expect) {
          return false;
        }
      }
    }
    return true;
  }

  public String describe() {
    return "seed=" + seed + " n=" + members.size() + " loss=" + lossRate + " t=" + nowMs + "ms";
  }
}
