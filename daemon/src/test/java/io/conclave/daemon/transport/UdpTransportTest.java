package io.conclave.daemon.transport;

import static io.conclave.daemon.testing.Futures.await;
import static io.conclave.daemon.testing.Futures.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.config.EncryptKey;
import io.conclave.daemon.metrics.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Gossip datagrams between two Vert.x instances on loopback: delivery, the size bound, sealing. */
class UdpTransportTest {
  static final Optional<EncryptKey> KEY_A = Optional.of(EncryptKey.of(key(1)));
  static final Optional<EncryptKey> KEY_B = Optional.of(EncryptKey.of(key(2)));

  Vertx a;
  Vertx b;
  PrometheusMeterRegistry registry;
  final List<String> received = new CopyOnWriteArrayList<>();

  static byte[] key(int seed) {
    byte[] key = new byte[32];
    new SplittableRandom(seed).nextBytes(key);
    return key;
  }

  @BeforeEach
  void setUp() {
    a = Vertx.vertx();
    b = Vertx.vertx();
    registry = Metrics.newRegistry();
  }

  @AfterEach
  void tearDown() {
    await(a.close());
    await(b.close());
  }

  UdpTransport bind(Vertx vertx, String name, Optional<EncryptKey> key) {
    UdpTransport transport = await(UdpTransport.bind(vertx.getOrCreateContext(), name, "127.0.0.1", 0, key, registry));
    transport.handler((sender, payload) -> received.add(new String(payload, StandardCharsets.UTF_8)));
    return transport;
  }

  static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void roundTripInTheClear() {
    UdpTransport receiver = bind(a, "rx", Optional.empty());
    UdpTransport sender = bind(b, "tx", Optional.empty());
    await(sender.send(bytes("ping"), "127.0.0.1", receiver.port()));
    await().atMost(Duration.ofSeconds(5)).until(() -> received.contains("ping"));
    assertThat(receiver.receivedCount()).isEqualTo(1);
    assertThat(sender.payloadBytesMax()).isEqualTo(1_399);
  }

  @Test
  void oversizedPayloadsAreRejectedAndCounted() {
    UdpTransport receiver = bind(a, "rx", Optional.empty());
    UdpTransport sender = bind(b, "tx", KEY_A);
    int max = sender.payloadBytesMax();
    assertThat(max).isEqualTo(UdpTransport.PACKET_BYTES_MAX - PacketSealer.SEALED_OVERHEAD_BYTES);
    Throwable failure = awaitFailure(sender.send(new byte[max + 1], "127.0.0.1", receiver.port()));
    assertThat(failure).isInstanceOf(UdpTransport.PacketTooLargeException.class);
    assertThat(sender.dropped("oversize")).isEqualTo(1);
    // exactly at the budget is fine, and the sealed packet is exactly 1,400 bytes on the wire
    UdpTransport sealedReceiver = bind(a, "rx2", KEY_A);
    byte[] full = new byte[max];
    full[0] = 'x';
    await(sender.send(full, "127.0.0.1", sealedReceiver.port()));
    await().atMost(Duration.ofSeconds(5)).until(() -> sealedReceiver.receivedCount() == 1);
    assertThat(registry.get("conclave.transport.bytes").tag("transport", "rx2").tag("direction", "in")
        .counter().count()).isEqualTo(UdpTransport.PACKET_BYTES_MAX);
  }

  @Test
  void sealedWithTheSameKeyIsDelivered() {
    UdpTransport receiver = bind(a, "rx", KEY_A);
    UdpTransport sender = bind(b, "tx", KEY_A);
    await(sender.send(bytes("secret"), "127.0.0.1", receiver.port()));
    await().atMost(Duration.ofSeconds(5)).until(() -> received.contains("secret"));
  }

  @Test
  void wrongKeyAndPlainPacketsAreDroppedAndCounted() {
    UdpTransport receiver = bind(a, "rx", KEY_A);
    UdpTransport wrongKey = bind(b, "wrong", KEY_B);
    UdpTransport plain = bind(b, "plain", Optional.empty());
    UdpTransport rightKey = bind(b, "right", KEY_A);
    await(wrongKey.send(bytes("forged"), "127.0.0.1", receiver.port()));
    await(plain.send(bytes("cleartext"), "127.0.0.1", receiver.port()));
    await().atMost(Duration.ofSeconds(5)).until(() ->
        receiver.dropped("unseal_failed") == 1 && receiver.dropped("plain_rejected") == 1);
    await(rightKey.send(bytes("genuine"), "127.0.0.1", receiver.port()));
    await().atMost(Duration.ofSeconds(5)).until(() -> received.contains("genuine"));
    assertThat(received).containsExactly("genuine");
    // and the other way: a daemon without a key refuses sealed packets
    await(rightKey.send(bytes("sealed"), "127.0.0.1", plain.port()));
    await().atMost(Duration.ofSeconds(5)).until(() -> plain.dropped("sealed_rejected") == 1);
    assertThat(registry.get("conclave.transport.dropped").tag("transport", "rx").tag("reason", "unseal_failed")
        .counter().count()).isEqualTo(1.0);
  }

  @Test
  void garbageIsDroppedByReason() {
    PacketSealer sealer = new PacketSealer(KEY_A);
    assertThat(sealer.open(new byte[0]).dropReason()).isEqualTo("empty");
    assertThat(sealer.open(new byte[] {9, 1, 2}).dropReason()).isEqualTo("bad_version");
    assertThat(sealer.open(new byte[] {PacketSealer.VERSION_SEALED, 1, 2}).dropReason()).isEqualTo("truncated");
    byte[] sealed = sealer.seal(bytes("hello"));
    sealed[sealed.length - 1] ^= 1;
    assertThat(sealer.open(sealed).dropReason()).as("a flipped tag bit").isEqualTo("unseal_failed");
    byte[] again = sealer.seal(bytes("hello"));
    assertThat(new String(sealer.open(again).payload(), StandardCharsets.UTF_8)).isEqualTo("hello");
    assertThat(sealer.seal(bytes("hello"))).as("fresh nonce per packet").isNotEqualTo(again);
  }

  @Test
  void packetsWithoutAHandlerAreCounted() {
    UdpTransport receiver = await(UdpTransport.bind(a.getOrCreateContext(), "bare", "127.0.0.1", 0, Optional.empty(), registry));
    UdpTransport sender = bind(b, "tx", Optional.empty());
    await(sender.send(bytes("anyone?"), "127.0.0.1", receiver.port()));
    await().atMost(Duration.ofSeconds(5)).until(() -> receiver.dropped("no_handler") == 1);
  }
}
