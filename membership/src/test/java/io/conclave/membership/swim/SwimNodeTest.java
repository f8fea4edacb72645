package io.conclave.membership.swim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.conclave.membership.member.Address;
import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;
import io.conclave.membership.swim.MemberEvent.Kind;
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
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Drives one SwimNode by hand through tick/step and checks its outputs (STYLE §6, core unit tests). */
class SwimNodeTest {
  static final SwimConfig CONFIG = SwimConfig.lan().toBuilder()
      .pushPullIntervalMs(0).reconnectIntervalMs(0).suspicionReprobes(0).build();

  static Address addr(String name) {
    return new Address(name + ".local", 8521);
  }

  static Member member(String name, long incarnation) {
    return new Member(name, addr(name), Map.of("role", "client"), incarnation, MemberState.ALIVE);
  }

  /** A node "a" that already knows the given peers (as after a join). */
  static SwimNode nodeKnowing(SwimConfig config, long seed, String... peers) {
    SwimNode a = new SwimNode(config, "a", addr("a"), Map.of("role", "server"), 0,
        new SplittableRandom(seed), 0);
    List<Member> all = new ArrayList<>();
    for (String p : peers) {
      all.add(member(p, 0));
    }
    Outputs out = a.stepStreamReply(addr(peers[0]),
        Codec.stream(new PushPull(peers[0], false, all)), 0);
    assertThat(out.events()).extracting(MemberEvent::kind).containsOnly(Kind.JOINED);
    return a;
  }

  /** Every message in the packets of these outputs, with its destination. */
  record Sent(Address to, Message message) {}

  static List<Sent> sent(Outputs out) {
    List<Sent> all = new ArrayList<>();
    for (Outputs.Packet p : out.packets()) {
      Decoded d = Codec.decodePacket(p.bytes());
      assertThat(d).isInstanceOf(Decoded.Messages.class);
      for (Message m : ((Decoded.Messages) d).messages()) {
        all.add(new Sent(p.to(), m));
      }
    }
    return all;
  }

  static <T extends Message> List<T> of(List<Sent> sent, Class<T> type) {
    return sent.stream().map(Sent::message).filter(type::isInstance).map(type::cast).toList();
  }

  /** Ticks at each deadline until {@code untilMs}, collecting outputs. */
  static List<Outputs> runUntil(SwimNode node, long[] now, long untilMs) {
    List<Outputs> outs = new ArrayList<>();
    while (node.nextDeadlineMs() <= untilMs) {
      now[0] = Math.max(now[0], node.nextDeadlineMs());
      outs.add(node.tick(now[0]));
    }
    now[0] = untilMs;
    outs.add(node.tick(untilMs));
    return outs;
  }

  static List<Sent> sentAll(List<Outputs> outs) {
    List<Sent> all = new ArrayList<>();
    outs.forEach(o -> all.addAll(sent(o)));
    return all;
  }

  static List<MemberEvent> events(List<Outputs> outs) {
    List<MemberEvent> all = new ArrayList<>();
    outs.forEach(o -> all.addAll(o.events()));
    return all;
  }

  /** Runs until the node's first direct Ping and returns it with its destination. */
  static Sent firstPing(SwimNode a, long[] now) {
    for (int i = 0; i < 100; i++) {
      now[0] = a.nextDeadlineMs();
      List<Ping> pings = of(sent(a.tick(now[0])), Ping.class);
      if (!pings.isEmpty()) {
        return new Sent(addr(pings.get(0).target()), pings.get(0));
      }
    }
    throw new AssertionError("no ping in 100 ticks");
  }

  @Test
  void ackedProbeRaisesNoSuspicion() {
    // SWIM §3.1: an Ack within the probe timeout ends the round; no PingReq, no suspicion.
    SwimNode a = nodeKnowing(CONFIG, 1, "b", "c", "d");
    long[] now = {0};
    Sent ping = firstPing(a, now);
    Outputs out = a.step(ping.to(), Codec.packet(new Ack(((Ping) ping.message()).seq())), now[0] + 3);
    assertThat(out.events()).isEmpty();
    List<Outputs> later = runUntil(a, now, now[0] + CONFIG.probeIntervalMs() - 10);
    assertThat(of(sentAll(later), PingReq.class)).isEmpty();
    assertThat(events(later)).isEmpty();
    assertThat(a.counters().probesFailed()).isZero();
  }

  @Test
  void silentTargetGetsPingReqsThenSuspicionThenFailure() {
    // SWIM §3.1 and §4.2: no Ack -> PingReq via k helpers -> Suspect -> Dead after the timeout.
    SwimNode a = nodeKnowing(CONFIG, 2, "b", "c", "d", "e");
    long[] now = {0};
    Sent ping = firstPing(a, now);
    String target = ((Ping) ping.message()).target();
    long probeStart = now[0];
    List<Outputs> outs = runUntil(a, now, probeStart + CONFIG.probeTimeoutMs());
    List<PingReq> reqs = of(sentAll(outs), PingReq.class);
    assertThat(reqs).hasSize(3).allSatisfy(r -> assertThat(r.target()).isEqualTo(target));
    assertThat(sentAll(outs).stream().filter(s -> s.message() instanceof PingReq).map(Sent::to))
        .doesNotHaveDuplicates().doesNotContain(addr(target));

    outs = runUntil(a, now, probeStart + CONFIG.probeIntervalMs());
    assertThat(events(outs)).singleElement().satisfies(e -> {
      assertThat(e.kind()).isEqualTo(Kind.SUSPECT);
      assertThat(e.member().name()).isEqualTo(target);
    });
    assertThat(a.member(target).orElseThrow().state()).isEqualTo(MemberState.SUSPECT);

    // 5 members, k = 3 but no one confirms: the timer runs for the maximum.
    long max = CONFIG.suspicionMaxMs(5);
    outs = runUntil(a, now, probeStart + CONFIG.probeIntervalMs() + max - 1);
    assertThat(events(outs)).noneMatch(e -> e.kind() == Kind.FAILED && e.member().name().equals(target));
    outs = runUntil(a, now, probeStart + CONFIG.probeIntervalMs() + max + 1);
    assertThat(events(outs)).anySatisfy(e -> {
      assertThat(e.kind()).isEqualTo(Kind.FAILED);
      assertThat(e.member().name()).isEqualTo(target);
    });
    assertThat(a.counters().failuresDeclared()).isEqualTo(1);
  }

  @Test
  void independentConfirmationsShortenTheSuspicion() {
    // Lifeguard §IV-B: each independent Suspect shrinks the timeout; after k it is the minimum.
    SwimNode a = nodeKnowing(CONFIG, 3, "b", "c", "d", "e", "f", "g");
    int n = 7;
    a.step(addr("b"), Codec.packet(new Suspect(0, "g", "b")), 10);
    assertThat(a.member("g").orElseThrow().state()).isEqualTo(MemberState.SUSPECT);
    for (String from : List.of("c", "d", "e")) {
      a.step(addr(from), Codec.packet(new Suspect(0, "g", from)), 20);
    }
    long[] now = {20};
    List<Outputs> outs = runUntil(a, now, 10 + CONFIG.suspicionMinMs(n) - 1);
    assertThat(events(outs)).noneMatch(e -> e.kind() == Kind.FAILED);
    outs = runUntil(a, now, 10 + CONFIG.suspicionMinMs(n) + 1);
    assertThat(events(outs)).anyMatch(e -> e.kind() == Kind.FAILED && e.member().name().equals("g"));
  }

  @Test
  void suspicionOfSelfIsRefutedWithHigherIncarnation() {
    // SWIM §4.2: a member refutes a suspicion by gossiping Alive with a higher incarnation;
    // Lifeguard §IV-A: having to refute lowers our own health.
    SwimNode a = nodeKnowing(CONFIG, 4, "b", "c");
    Outputs out = a.step(addr("b"), Codec.packet(new Suspect(0, "a", "b")), 5);
    assertThat(out.events()).isEmpty();
    assertThat(a.self().incarnation()).isEqualTo(1);
    assertThat(a.healthScore()).isEqualTo(1);
    // The refutation rides on the next packet we send.
    Outputs ack = a.step(addr("b"), Codec.packet(new Ping(9, "a", addr("b"))), 6);
    assertThat(of(sent(ack), Alive.class)).anySatisfy(al -> {
      assertThat(al.name()).isEqualTo("a");
      assertThat(al.incarnation()).isEqualTo(1);
    });
    // Dead about us at a higher incarnation is refuted above it.
    a.step(addr("b"), Codec.packet(new Dead(7, "a", "b")), 7);
    assertThat(a.self().incarnation()).isEqualTo(8);
    assertThat(a.counters().refutations()).isEqualTo(2);
  }

  @Test
  void newerIncarnationWinsAndEqualDoesNot() {
    // SWIM §4.2: Alive with a higher incarnation overrides Suspect; equal does not.
    SwimNode a = nodeKnowing(CONFIG, 5, "b", "c", "d");
    a.step(addr("c"), Codec.packet(new Suspect(2, "b", "c")), 1);
    Outputs same = a.step(addr("b"), Codec.packet(new Alive(2, "b", addr("b"), Map.of("role", "client"))), 2);
    assertThat(same.events()).isEmpty();
    assertThat(a.member("b").orElseThrow().state()).isEqualTo(MemberState.SUSPECT);
    Outputs newer = a.step(addr("b"), Codec.packet(new Alive(3, "b", addr("b"), Map.of("role", "client"))), 3);
    assertThat(newer.events()).extracting(MemberEvent::kind).containsExactly(Kind.ALIVE_AGAIN);
    assertThat(a.member("b").orElseThrow()).extracting(Member::state, Member::incarnation)
        .containsExactly(MemberState.ALIVE, 3L);
    // A stale Suspect (lower incarnation) is ignored.
    assertThat(a.step(addr("c"), Codec.packet(new Suspect(2, "b", "c")), 4).events()).isEmpty();
  }

  @Test
  void failedMemberReturningWithHigherIncarnationIsAliveAgain() {
    SwimNode a = nodeKnowing(CONFIG, 6, "b", "c", "d");
    a.step(addr("c"), Codec.packet(new Suspect(0, "b", "c")), 1);
    Outputs dead = a.step(addr("c"), Codec.packet(new Dead(0, "b", "c")), 2);
    assertThat(dead.events()).extracting(MemberEvent::kind).containsExactly(Kind.FAILED);
    Outputs back = a.step(addr("b"), Codec.packet(new Alive(1, "b", addr("b"), Map.of("role", "server"))), 3);
    assertThat(back.events()).extracting(MemberEvent::kind, MemberEvent::previous)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(Kind.ALIVE_AGAIN, MemberState.FAILED));
    assertThat(a.member("b").orElseThrow().tags()).containsEntry("role", "server");
  }

  @Test
  void probeOfSuspectCarriesTheSuspicion() {
    // Lifeguard: the probe of a suspected member carries the Suspect so it can refute at once.
    SwimNode a = nodeKnowing(CONFIG, 7, "b");
    a.step(addr("b"), Codec.packet(new Suspect(0, "b", "x")), 1);
    long[] now = {1};
    List<Sent> s = sentAll(runUntil(a, now, 3 * CONFIG.probeIntervalMs()));
    assertThat(of(s, Ping.class)).isNotEmpty();
    assertThat(of(s, Suspect.class)).anySatisfy(su -> assertThat(su.name()).isEqualTo("b"));
  }

  @Test
  void missingNacksLowerHealthAndStretchTheProbeTimeout() {
    // Lifeguard §IV-A: helpers that do not even Nack point at our own slowness; the health score
    // multiplies our probe timeout (and interval), so we accuse others less eagerly.
    SwimConfig config = CONFIG.toBuilder().retryDirectPing(false).indirectChecks(3).build();
    SwimNode a = nodeKnowing(config, 8, "b", "c", "d", "e", "f");
    long[] now = {0};
    firstPing(a, now);
    long start = now[0];
    long interval = config.probeIntervalMs();
    runUntil(a, now, start + interval - 1);
    assertThat(a.healthScore()).isZero();
    List<Sent> atEnd = sentAll(runUntil(a, now, start + interval));
    assertThat(a.healthScore()).isEqualTo(3); // 3 helpers asked, 0 Nacks
    assertThat(of(atEnd, Ping.class)).hasSize(1); // the next round starts on time
    long second = start + interval;
    long scaledTimeout = 4 * config.probeTimeoutMs();
    assertThat(of(sentAll(runUntil(a, now, second + scaledTimeout - 1)), PingReq.class)).isEmpty();
    List<PingReq> reqs = of(sentAll(runUntil(a, now, second + scaledTimeout)), PingReq.class);
    assertThat(reqs).hasSize(3);
    // This time every helper Nacks: the failed probe leaves the score where it was.
    for (PingReq r : reqs) {
      a.step(addr("b"), Codec.packet(new Nack(r.seq())), now[0]);
    }
    runUntil(a, now, second + 4 * interval);
    assertThat(a.counters().probesFailed()).isEqualTo(2);
    assertThat(a.healthScore()).isEqualTo(3);
  }

  @Test
  void helperForwardsAckOrSendsNack() {
    // Lifeguard: a helper answers the origin with a Nack when the target stays silent.
    SwimNode h = nodeKnowing(CONFIG, 9, "b", "c");
    Outputs out = h.step(addr("b"), Codec.packet(new PingReq(77, "c", addr("c"), addr("b"))), 100);
    Ping ping = of(sent(out), Ping.class).get(0);
    assertThat(ping.target()).isEqualTo("c");
    long[] now = {100};
    List<Sent> s = sentAll(runUntil(h, now, 100 + CONFIG.nackTimeoutMs()));
    assertThat(s).anySatisfy(x -> {
      assertThat(x.to()).isEqualTo(addr("b"));
      assertThat(x.message()).isEqualTo(new Nack(77));
    });
    // A late Ack is still forwarded before the probe timeout.
    Outputs fwd = h.step(addr("c"), Codec.packet(new Ack(ping.seq())), 100 + CONFIG.nackTimeoutMs() + 10);
    assertThat(sent(fwd)).anySatisfy(x -> assertThat(x.message()).isEqualTo(new Ack(77)));
  }

  @Test
  void tagChangeRaisesIncarnationAndSpreads() {
    SwimNode a = nodeKnowing(CONFIG, 10, "b");
    a.setTags(Map.of("role", "server", "raft", "10.0.0.1:8522"), 1);
    assertThat(a.self().incarnation()).isEqualTo(1);
    Outputs ack = a.step(addr("b"), Codec.packet(new Ping(1, "a", addr("b"))), 2);
    assertThat(of(sent(ack), Alive.class)).anySatisfy(al ->
        assertThat(al.tags()).containsEntry("raft", "10.0.0.1:8522"));
    SwimNode b = new SwimNode(CONFIG, "b", addr("b"), Map.of(), 0, new SplittableRandom(1), 0);
    b.step(addr("a"), Codec.packet(new Alive(0, "a", addr("a"), Map.of("role", "server"))), 3);
    Outputs upd = b.step(addr("a"), ack.packets().get(0).bytes(), 4);
    assertThat(upd.events()).extracting(MemberEvent::kind).containsExactly(Kind.UPDATED);
  }

  @Test
  void leaveSpreadsAndLeftMembersAreReaped() {
    SwimConfig config = CONFIG.toBuilder().reapLeftAfterMs(60_000).build();
    SwimNode a = nodeKnowing(config, 11, "b", "c");
    Outputs out = a.leave(10);
    long[] now = {10};
    List<Sent> s = new ArrayList<>(sent(out));
    s.addAll(sentAll(runUntil(a, now, 5_000)));
    assertThat(of(s, Leave.class)).isNotEmpty().allSatisfy(l -> assertThat(l.name()).isEqualTo("a"));
    assertThat(a.leaveSettled()).isTrue();
    assertThat(of(s, Ping.class)).isEmpty(); // a leaving member stops probing

    SwimNode b = new SwimNode(config, "b", addr("b"), Map.of(), 0, new SplittableRandom(2), 0);
    b.step(addr("a"), Codec.packet(new Alive(0, "a", addr("a"), Map.of())), 1);
    Outputs left = b.step(addr("a"), Codec.packet(new Leave(0, "a")), 2);
    assertThat(left.events()).extracting(MemberEvent::kind).containsExactly(Kind.LEFT);
    long[] bnow = {2};
    assertThat(events(runUntil(b, bnow, 60_000))).noneMatch(e -> e.kind() == Kind.REAPED);
    assertThat(events(runUntil(b, bnow, 62_000))).anyMatch(e -> e.kind() == Kind.REAPED);
    assertThat(b.member("a")).isEmpty();
  }

  @Test
  void badBytesAreCountedDrops() {
    SwimNode a = nodeKnowing(CONFIG, 12, "b");
    assertThatCode(() -> {
      a.step(addr("b"), new byte[0], 1);
      a.step(addr("b"), new byte[] {1, 2, 3}, 1);
      a.step(addr("b"), new byte[] {(byte) Codec.VERSION_1, 99, 0, 0}, 1);
      a.stepStream(addr("b"), new byte[] {(byte) Codec.VERSION_1, 9, (byte) 0xFF}, 1);
    }).doesNotThrowAnyException();
    assertThat(a.counters().drops(DropReason.EMPTY)).isEqualTo(1);
    assertThat(a.counters().drops(DropReason.BAD_VERSION)).isEqualTo(1);
    assertThat(a.counters().drops(DropReason.UNKNOWN_TYPE)).isEqualTo(1);
    assertThat(a.counters().dropsTotal()).isEqualTo(4);
    a.step(addr("b"), Codec.packet(new Ping(1, "zz", addr("b"))), 2);
    assertThat(a.counters().drops(DropReason.WRONG_TARGET)).isEqualTo(1);
  }

  @Test
  void packetsStayWithinTheLimitWhateverIsQueued() {
    SwimNode a = nodeKnowing(CONFIG, 13, "b", "c");
    for (int i = 0; i < 300; i++) {
      a.step(addr("b"), Codec.packet(new Alive(0, "m" + i, new Address("10.1." + i / 200 + "." + i % 200, 8521),
          Map.of("role", "client", "raft", "10.1.1.1:8522", "version", "0.1.0"))), 1);
    }
    long[] now = {1};
    List<Outputs> outs = runUntil(a, now, 10_000);
    long packets = outs.stream().mapToLong(o -> o.packets().size()).sum();
    assertThat(packets).isGreaterThan(10);
    assertThat(outs).allSatisfy(o -> assertThat(o.packets())
        .allSatisfy(p -> assertThat(p.bytes().length).isLessThanOrEqualTo(CONFIG.packetBytesMax())));
  }

  @Test
  void sameSeedSameInputsSameOutputs() {
    List<byte[]> first = trace(42);
    List<byte[]> second = trace(42);
    assertThat(first).hasSameSizeAs(second);
    for (int i = 0; i < first.size(); i++) {
      assertThat(first.get(i)).isEqualTo(second.get(i));
    }
    assertThat(trace(43)).isNotEmpty();
  }

  private static List<byte[]> trace(long seed) {
    SwimNode a = nodeKnowing(SwimConfig.lan(), seed, "b", "c", "d", "e");
    long[] now = {0};
    List<byte[]> bytes = new ArrayList<>();
    for (Outputs o : runUntil(a, now, 20_000)) {
      o.packets().forEach(p -> bytes.add(p.bytes()));
      o.streams().forEach(s -> bytes.add(s.payload()));
    }
    return bytes;
  }
}
