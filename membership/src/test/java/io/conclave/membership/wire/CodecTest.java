package io.conclave.membership.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.membership.member.Address;
import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;
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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The wire format round-trips every message, and decoding any bytes at all gives messages or a counted
 * drop: never an exception, never an allocation sized by an untrusted length (a forged length fails the
 * remaining-bytes check before anything is allocated).
 */
class CodecTest {
  static final Address A = new Address("10.0.0.1", 8521);

  static List<Message> samples() {
    return List.of(
        new Ping(1, "n1", A),
        new Ack(Long.MAX_VALUE),
        new PingReq(300, "n2", new Address("host.example", 1), A),
        new Nack(0),
        new Suspect(5, "n3", "n1"),
        new Alive(7, "n4", new Address("::1", 65535), Map.of("role", "server", "raft", "10.0.0.4:8522")),
        new Dead(9, "n5", "n6"),
        new Leave(11, "ü-名前"));
  }

  @Test
  void everyMessageRoundTrips() {
    for (Message m : samples()) {
      Decoded d = Codec.decodePacket(Codec.packet(m));
      assertThat(d).isEqualTo(new Decoded.Messages(List.of(m)));
    }
    List<byte[]> frames = samples().stream().map(Codec::frame).toList();
    assertThat(Codec.decodePacket(Codec.packet(frames))).isEqualTo(new Decoded.Messages(samples()));
  }

  @Test
  void pushPullRoundTrips() {
    List<Member> members = List.of(
        new Member("a", A, Map.of("role", "server"), 3, MemberState.ALIVE),
        new Member("b", new Address("b", 2), Map.of(), 0, MemberState.SUSPECT),
        new Member("c", new Address("c", 3), Map.of("x", ""), 9, MemberState.FAILED),
        new Member("d", new Address("d", 4), Map.of(), 1, MemberState.LEFT));
    PushPull pp = new PushPull("a", true, members);
    assertThat(Codec.decodeStream(Codec.stream(pp))).isEqualTo(new Decoded.Messages(List.of(pp)));
  }

  @Test
  void forgedLengthsAreDroppedNotAllocated() {
    // A stream claiming 200,000 members in 10 bytes: rejected by the remaining-bytes check.
    byte[] forged = {(byte) Codec.VERSION_1, 9, 1, 'a', 0, (byte) 0xC0, (byte) 0x9A, 0x0C};
    assertThat(Codec.decodeStream(forged)).isEqualTo(new Decoded.Dropped(DropReason.TRUNCATED));
    // A frame whose u16 length exceeds the packet.
    byte[] frame = {(byte) Codec.VERSION_1, 2, (byte) 0xFF, (byte) 0xFF, 1};
    assertThat(Codec.decodePacket(frame)).isEqualTo(new Decoded.Dropped(DropReason.TRUNCATED));
    // A string length of 2^62.
    byte[] str = {(byte) Codec.VERSION_1, 5, 0, 11, 1, (byte) 0x80, (byte) 0x80, (byte) 0x80,
        (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40, 0};
    assertThat(Codec.decodePacket(str)).isInstanceOf(Decoded.Dropped.class);
    // A varint of 11 bytes.
    byte[] longVarint = {(byte) Codec.VERSION_1, 2, 0, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1};
    assertThat(Codec.decodePacket(longVarint)).isEqualTo(new Decoded.Dropped(DropReason.BAD_FIELD));
  }

  @Test
  void trailingBytesInAFrameAreABadLength() {
    byte[] good = Codec.packet(new Ack(5));
    byte[] bad = new byte[good.length + 1];
    System.arraycopy(good, 0, bad, 0, good.length);
    bad[2] = 0;
    bad[3] = (byte) (good.length - 3); // frame claims one byte more than the Ack uses
    assertThat(Codec.decodePacket(bad)).isEqualTo(new Decoded.Dropped(DropReason.BAD_LENGTH));
  }

  @Property(tries = 3000)
  void randomBytesNeverThrow(@ForAll @Size(max = 1500) byte[] bytes) {
    assertThat(Codec.decodePacket(bytes)).isNotNull();
    assertThat(Codec.decodeStream(bytes)).isNotNull();
  }

  @Property(tries = 3000)
  void randomBytesAfterTheVersionNeverThrow(@ForAll @Size(max = 600) byte[] tail) {
    byte[] bytes = new byte[tail.length + 1];
    bytes[0] = (byte) Codec.VERSION_1;
    System.arraycopy(tail, 0, bytes, 1, tail.length);
    Decoded d = Codec.decodePacket(bytes);
    assertThat(d).isNotNull();
    if (d instanceof Decoded.Messages ms) {
      assertThat(ms.messages()).isNotEmpty(); // whatever decodes re-encodes
      ms.messages().forEach(Codec::frame);
    }
    if (bytes.length > 1) {
      bytes[1] = 9;
    }
    assertThat(Codec.decodeStream(bytes)).isNotNull();
  }

  @Property(tries = 3000)
  void mutatedValidPacketsDecodeOrDrop(@ForAll("validPackets") byte[] packet,
      @ForAll("mutations") List<int[]> mutations) {
    byte[] bytes = mutate(packet, mutations);
    Decoded d = Codec.decodePacket(bytes);
    assertThat(d).isNotNull();
    if (d instanceof Decoded.Messages ms) {
      for (Message m : ms.messages()) {
        assertThat(Codec.decodePacket(Codec.packet(m))).isEqualTo(new Decoded.Messages(List.of(m)));
      }
    }
  }

  @Property(tries = 1000)
  void mutatedValidStreamsDecodeOrDrop(@ForAll("validStreams") byte[] stream,
      @ForAll("mutations") List<int[]> mutations) {
    assertThat(Codec.decodeStream(mutate(stream, mutations))).isNotNull();
  }

  @Property(tries = 1000)
  void generatedMessagesRoundTrip(@ForAll("messages") List<Message> messages) {
    List<byte[]> frames = messages.stream().map(Codec::frame).toList();
    assertThat(Codec.decodePacket(Codec.packet(frames))).isEqualTo(new Decoded.Messages(messages));
  }

  /** Each mutation: {kind, position, value}: 0 flip a byte, 1 delete one, 2 insert one, 3 truncate. */
  static byte[] mutate(byte[] in, List<int[]> mutations) {
    List<Byte> b = new ArrayList<>();
    for (byte x : in) {
      b.add(x);
    }
    for (int[] m : mutations) {
      int pos = b.isEmpty() ? 0 : Math.floorMod(m[1], b.size());
      switch (m[0]) {
        case 0 -> { if (!b.isEmpty()) b.set(pos, (byte) m[2]); }
        case 1 -> { if (!b.isEmpty()) b.remove(pos); }
        case 2 -> b.add(pos, (byte) m[2]);
        default -> { while (b.size() > pos) b.remove(b.size() - 1); }
      }
    }
    byte[] out = new byte[b.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.get(i);
    }
    return out;
  }

  @Provide
  Arbitrary<List<int[]>> mutations() {
    Arbitrary<int[]> one = Combinators.combine(Arbitraries.integers().between(0, 3),
        Arbitraries.integers().between(0, 2000), Arbitraries.integers().between(-128, 127))
        .as((k, p, v) -> new int[] {k, p, v});
    return one.list().ofMinSize(1).ofMaxSize(4);
  }

  static Arbitrary<String> names() {
    return Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(20);
  }

  static Arbitrary<Address> addresses() {
    return Combinators.combine(names(), Arbitraries.integers().between(0, 65535)).as(Address::new);
  }

  static Arbitrary<Map<String, String>> tags() {
    return Arbitraries.maps(Arbitraries.strings().ofMaxLength(10), Arbitraries.strings().ofMaxLength(30))
        .ofMaxSize(5);
  }

  @Provide
  Arbitrary<List<Message>> messages() {
    Arbitrary<Long> n = Arbitraries.longs().between(0, Long.MAX_VALUE);
    Arbitrary<Message> one = Arbitraries.oneOf(
        Combinators.combine(n, names(), addresses()).as(Ping::new),
        n.map(Ack::new),
        n.map(Nack::new),
        Combinators.combine(n, names(), addresses(), addresses()).as(PingReq::new),
        Combinators.combine(n, names(), names()).as(Suspect::new),
        Combinators.combine(n, names(), addresses(), tags()).as(Alive::new),
        Combinators.combine(n, names(), names()).as(Dead::new),
        Combinators.combine(n, names()).as(Leave::new));
    return one.list().ofMinSize(1).ofMaxSize(8);
  }

  @Provide
  Arbitrary<byte[]> validPackets() {
    return messages().map(ms -> Codec.packet(ms.stream().map(Codec::frame).toList()));
  }

  @Provide
  Arbitrary<byte[]> validStreams() {
    Arbitrary<Member> member = Combinators.combine(names(), addresses(), tags(),
        Arbitraries.longs().between(0, 1_000_000), Arbitraries.of(MemberState.class)).as(Member::new);
    return Combinators.combine(names(), Arbitraries.of(true, false), member.list().ofMaxSize(10))
        .as((from, join, ms) -> Codec.stream(new PushPull(from, join, ms)));
  }
}
