package io.conclave.daemon.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** The command codec round-trips every command and turns any bad bytes into a KvCodecException. */
class KvCodecTest {
  static final List<KvRequest> SAMPLES = List.of(
      KvRequest.of(new KvCommand.Set("a/b", "v".getBytes(StandardCharsets.UTF_8), -1L)),
      KvRequest.of(new RequestId("n1-3f2a", 42), new KvCommand.Cas("ключ", new byte[0], 7, 0)),
      KvRequest.of(new KvCommand.Delete("")),
      KvRequest.of(new RequestId("n1", Long.MAX_VALUE), new KvCommand.DeleteCas("k", Long.MIN_VALUE)),
      KvRequest.of(new KvCommand.DeleteTree("p/")),
      KvRequest.of(new KvCommand.ReapTombstones(99)),
      KvRequest.of(new RequestId("a", 1), new KvCommand.Txn(List.of(
          TxnOp.set("x", new byte[] {0, 1, 2}, 3),
          TxnOp.cas("y", null, 0, 5),
          TxnOp.of(TxnOp.Verb.GET_TREE, ""),
          TxnOp.withIndex(TxnOp.Verb.CHECK_INDEX, "z", 8)))));

  @Test
  void everyCommandRoundTrips() throws KvCodecException {
    for (KvRequest r : SAMPLES) {
      assertThat(KvCodec.decode(KvCodec.encode(r))).isEqualTo(r);
    }
  }

  @Test
  void everyTruncationAndTrailingByteIsRefused() {
    for (KvRequest r : SAMPLES) {
      byte[] bytes = KvCodec.encode(r);
      for (int n = 0; n < bytes.length; n++) {
        byte[] cut = Arrays.copyOf(bytes, n);
        assertThatThrownBy(() -> KvCodec.decode(cut)).as("%s cut at %d", r, n).isInstanceOf(KvCodecException.class);
      }
      byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
      assertThatThrownBy(() -> KvCodec.decode(longer)).isInstanceOf(KvCodecException.class).hasMessageContaining("trailing");
    }
  }

  @Test
  void unknownVersionTypeVerbAndBadLengthsAreRefused() {
    byte[] set = KvCodec.encode(SAMPLES.get(0));
    byte[] v2 = set.clone();
    v2[0] = 2;
    assertThatThrownBy(() -> KvCodec.decode(v2)).isInstanceOf(KvCodecException.class).hasMessageContaining("version 2");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 0, 8})).hasMessageContaining("unknown command type 8");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 0, 6, 0})).hasMessageContaining("1..64");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 0, 6, 65})).hasMessageContaining("1..64");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 0, 6, 1, 40})).hasMessageContaining("unknown transaction verb");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}))
        .hasMessageContaining("bad value length");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 0, 3, 0, 2, (byte) 0xc3, (byte) 0x28})).hasMessageContaining("not UTF-8");
    assertThatThrownBy(() -> KvCodec.decode(new byte[] {1, 1, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0})).hasMessageContaining("bad request id");
  }

  @Property(tries = 2000)
  void randomBytesNeverCrashTheDecoder(@ForAll byte[] bytes) {
    try {
      KvRequest r = KvCodec.decode(bytes);
      assertThat(KvCodec.encode(r)).isEqualTo(bytes); // whatever decodes is canonical
    } catch (KvCodecException expected) {
      assertThat(expected.getMessage()).isNotEmpty();
    }
  }

  @Test
  void mutatedCommandsNeverCrashTheStateMachine() {
    SplittableRandom r = new SplittableRandom(7);
    KvStateMachine sm = new KvStateMachine();
    long index = 0;
    int rejected = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] bytes = KvCodec.encode(SAMPLES.get(r.nextInt(SAMPLES.size())));
      bytes[r.nextInt(bytes.length)] = (byte) r.nextInt(256);
      KvResult result = sm.apply(++index, bytes);
      if (result instanceof KvResult.Rejected) {
        rejected++;
      }
    }
    assertThat(rejected).isPositive();
    assertThat(sm.lastApplied()).isEqualTo(index);
  }
}
