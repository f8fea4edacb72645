package io.conclave.consensus.message;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import io.conclave.consensus.message.MessageCodec.Decoded;
import io.conclave.consensus.message.MessageCodec.Malformed;
import io.conclave.consensus.message.MessageCodec.Result;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The Raft wire codec: every message type survives a round trip, the encoding is compact, and
 * decoding never throws: random bytes and mutated valid encodings give a message or a Malformed.
 */
class MessageCodecTest {

  static List<Message> samples() {
    List<Entry> entries = List.of(
        new Entry(8, 3, EntryType.COMMAND, "set a=1".getBytes()),
        Entry.noop(9, 4),
        new Entry(10, 4, EntryType.CONFIG, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 0}));
    return List.of(
        new AppendEntries("n1", "n2", 4, 7, 3, entries, 6),
        new AppendEntries("n1", "n2", 4, 7, 3, List.of(), 6),
        new AppendEntriesResponse("n2", "n1", 4, true, 10, 0, 0),
        new AppendEntriesResponse("n2", "n1", 4, false, 7, 5, 2),
        new Heartbeat("n1", "n3", 9, 120, 77),
        new HeartbeatResponse("n3", "n1", 9, 77),
        new RequestVote("n2", "n3", 5, 10, 4, true, false),
        new RequestVote("n2", "n3", 5, 10, 4, false, true),
        new RequestVoteResponse("n3", "n2", 5, true, true),
        new RequestVoteResponse("n3", "n2", 5, false, false),
        new TimeoutNow("n1", "n2", 6),
        new ReadIndexRequest("n2", "n1", 6, Long.MAX_VALUE),
        new ReadIndexResponse("n1", "n2", 6, 12, -1),
        new ReadIndexResponse("n1", "n2", 6, 12, 99),
        new InstallSnapshot("n1", "n4", 7, 500, 6, new byte[] {1, 2, 3}, 10, 4, new byte[] {9, 9, 9, 9, 9, 9}),
        new InstallSnapshotResponse("n4", "n1", 7, 500, 10, true),
        new Heartbeat("ñode-é", "节点", 0, 0, 0));
  }

  @Test
  void everySampleRoundTrips() {
    for (Message m : samples()) {
      byte[] wire = MessageCodec.encode(m);
      Result r = MessageCodec.decode(wire);
      assertThat(r).as("decoding %s", m).isInstanceOf(Decoded.class);
      Message back = ((Decoded) r).message();
      assertThat(back.getClass()).isEqualTo(m.getClass());
      assertThat(MessageCodec.encode(back)).as("re-encoding %s", m).isEqualTo(wire);
      if (!(m instanceof InstallSnapshot)) {
        assertThat(back).isEqualTo(m); // InstallSnapshot holds arrays: compared by re-encoding
      }
    }
  }

  @Test
  void everyMessageTypeIsCovered() {
    assertThat(samples().stream().map(Object::getClass).distinct().count())
        .isEqualTo(Message.class.getPermittedSubclasses().length);
  }

  @Test
  void aHeartbeatIsSmall() {
    assertThat(MessageCodec.encode(new Heartbeat("n1", "n2", 9, 120, 77))).hasSizeLessThanOrEqualTo(14);
  }

  @Test
  void contiguousEntriesCostOneByteOfIndex() {
    byte[] one = MessageCodec.encode(new AppendEntries("n1", "n2", 4, 1000, 3,
        List.of(Entry.command(1001, 4, new byte[0])), 6));
    byte[] two = MessageCodec.encode(new AppendEntries("n1", "n2", 4, 1000, 3,
        List.of(Entry.command(1001, 4, new byte[0]), Entry.command(1002, 4, new byte[0])), 6));
    assertThat(two.length - one.length).isEqualTo(4); // delta 0, term, type, length 0
  }

  @Test
  void refusesBadVersionUnknownTypeTrailingBytesAndEmpty() {
    byte[] wire = MessageCodec.encode(new TimeoutNow("n1", "n2", 6));
    byte[] v2 = wire.clone();
    v2[0] = 2;
    assertThat(reason(v2)).isEqualTo("bad_version");
    byte[] unknown = wire.clone();
    unknown[1] = 99;
    assertThat(reason(unknown)).isEqualTo("unknown_type");
    assertThat(reason(Arrays.copyOf(wire, wire.length + 1))).isEqualTo("trailing_bytes");
    assertThat(reason(Arrays.copyOf(wire, wire.length - 1))).isEqualTo("truncated");
    assertThat(reason(new byte[0])).isEqualTo("empty");
  }

  @Test
  void refusesAHugeEntryCountWithoutAllocatingIt() {
    // version, AppendEntries, from "a", to "b", term, prev index, prev term, commit, count = 2^40
    byte[] wire = {1, 1, 2, 'a', 2, 'b', 2, 0, 0, 0, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40};
    assertThat(reason(wire)).isEqualTo("bad_length");
  }

  @Test
  void refusesAnIdOverTheCapAndInvalidUtf8() {
    byte[] wire = {1, 7, (byte) 0x82, 0x20, 'a'}; // from: length 2049 (zig-zag 4098)
    assertThat(reason(wire)).isEqualTo("bad_length");
    byte[] badUtf8 = {1, 7, 2, (byte) 0xff, 2, 'b', 2};
    assertThat(reason(badUtf8)).isEqualTo("bad_utf8");
  }

  @Test
  void refusesAnEntryIndexBelowOne() {
    // prev index 0, entry delta -1: index 0
    byte[] wire = {1, 1, 2, 'a', 2, 'b', 2, 0, 0, 0, 2, 1, 2, 1, 0};
    assertThat(reason(wire)).isEqualTo("invalid_field");
  }

  @Test
  void refusesAnOverlongVarint() {
    byte[] wire = new byte[16];
    wire[0] = 1;
    wire[1] = 7;
    Arrays.fill(wire, 2, 16, (byte) 0xff);
    assertThat(reason(wire)).isEqualTo("bad_varint");
  }

  private static String reason(byte[] wire) {
    Result r = MessageCodec.decode(wire);
    assertThat(r).isInstanceOf(Malformed.class);
    return ((Malformed) r).reason();
  }

  // ---------------------------------------------------------------------------------------------
  // Fuzz

  @Property(tries = 2000)
  void randomBytesNeverThrow(@ForAll @Size(max = 200) byte[] bytes) {
    Result r = MessageCodec.decode(bytes);
    assertThat(r).isNotNull();
    if (r instanceof Decoded d) {
      assertThat(MessageCodec.encode(d.message())).isNotEmpty();
    }
  }

  @Property(tries = 2000)
  void randomBytesAfterAValidHeaderNeverThrow(@ForAll @IntRange(min = 1, max = 11) int type,
      @ForAll @Size(max = 120) byte[] body) {
    byte[] wire = new byte[body.length + 2];
    wire[0] = 1;
    wire[1] = (byte) type;
    System.arraycopy(body, 0, wire, 2, body.length);
    assertThat(MessageCodec.decode(wire)).isNotNull();
  }

  @Property(tries = 3000)
  void mutatedEncodingsNeverThrow(@ForAll("messages") Message m, @ForAll("mutations") List<int[]> mutations) {
    byte[] wire = MessageCodec.encode(m);
    byte[] mutated = mutate(wire, mutations);
    Result r = MessageCodec.decode(mutated);
    assertThat(r).isNotNull();
    if (r instanceof Decoded d) {
      // whatever decodes must encode again to a decodable message
      assertThat(MessageCodec.decode(MessageCodec.encode(d.message()))).isInstanceOf(Decoded.class);
    }
  }

  @Property(tries = 500)
  void generatedMessagesRoundTrip(@ForAll("messages") Message m) {
    byte[] wire = MessageCodec.encode(m);
    Result r = MessageCodec.decode(wire);
    assertThat(r).isInstanceOf(Decoded.class);
    assertThat(MessageCodec.encode(((Decoded) r).message())).isEqualTo(wire);
  }

  /** Each mutation: {kind, position, value}; kind 0 flips a byte, 1 truncates, 2 inserts. */
  private static byte[] mutate(byte[] wire, List<int[]> mutations) {
    byte[] out = wire;
    for (int[] mu : mutations) {
      if (out.length == 0) break;
      int pos = Math.floorMod(mu[1], out.length);
      switch (mu[0]) {
        case 0 -> {
          out = out.clone();
          out[pos] = (byte) mu[2];
        }
        case 1 -> out = Arrays.copyOf(out, pos);
        default -> {
          byte[] grown = new byte[out.length + 1];
          System.arraycopy(out, 0, grown, 0, pos);
          grown[pos] = (byte) mu[2];
          System.arraycopy(out, pos, grown, pos + 1, out.length - pos);
          out = grown;
        }
      }
    }
    return out;
  }

  @Provide
  Arbitrary<List<int[]>> mutations() {
    Arbitrary<int[]> one = Combinators.combine(
            Arbitraries.integers().between(0, 2),
            Arbitraries.integers().between(0, 10_000),
            Arbitraries.integers().between(0, 255))
        .as((k, p, v) -> new int[] {k, p, v});
    return one.list().ofMinSize(1).ofMaxSize(4);
  }

  @Provide
  Arbitrary<Message> messages() {
    Arbitrary<String> ids = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(8);
    Arbitrary<Long> small = Arbitraries.longs().between(0, 1L << 40);
    Arbitrary<byte[]> data = Arbitraries.bytes().array(byte[].class).ofMaxSize(40);
    Arbitrary<Message> append = Combinators.combine(ids, ids, small, small,
            Arbitraries.integers().between(0, 5), data, small)
        .as((from, to, term, prev, n, payload, commit) -> {
          List<Entry> entries = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            entries.add(new Entry(prev + 1 + i, term + 1, EntryType.values()[i % 3], payload));
          }
          return new AppendEntries(from, to, term, prev, term, entries, commit);
        });
    Arbitrary<Message> vote = Combinators.combine(ids, ids, small, small, small,
            Arbitraries.of(true, false), Arbitraries.of(true, false))
        .as((from, to, term, li, lt, pre, tr) -> new RequestVote(from, to, term, li, lt, pre, tr));
    Arbitrary<Message> heartbeat = Combinators.combine(ids, ids, small, small, small)
        .as((from, to, term, commit, round) -> new Heartbeat(from, to, term, commit, round));
    Arbitrary<Message> readResp = Combinators.combine(ids, ids, small, Arbitraries.longs(),
            Arbitraries.longs().between(-1, 1L << 40))
        .as((from, to, term, rid, index) -> new ReadIndexResponse(from, to, term, rid, index));
    Arbitrary<Message> snap = Combinators.combine(ids, ids, small, small, data, data)
        .as((from, to, term, index, conf, chunk) ->
            new InstallSnapshot(from, to, term, index, term, conf, chunk.length + 3L, 3, chunk));
    Arbitrary<Message> aer = Combinators.combine(ids, ids, small, Arbitraries.of(true, false), small, small, small)
        .as((from, to, term, ok, index, ci, ct) -> new AppendEntriesResponse(from, to, term, ok, index, ci, ct));
    return Arbitraries.oneOf(append, vote, heartbeat, readResp, snap, aer, Arbitraries.of(samples()));
  }
}
