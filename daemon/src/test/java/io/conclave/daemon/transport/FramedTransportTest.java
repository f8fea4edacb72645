package io.conclave.daemon.transport;

import static io.conclave.daemon.testing.Futures.await;
import static io.conclave.daemon.testing.Futures.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.config.EncryptKey;
import io.conclave.daemon.metrics.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Framed TCP between two Vert.x instances on loopback, plus raw sockets that misbehave: framing
 * across split writes, the frame bound, garbage, reconnection, request/response and the bounds.
 */
class FramedTransportTest {
  static final Duration WAIT = Duration.ofSeconds(10);
  static final int FRAME_MAX = 1_024;
  static final FramedOptions OPTIONS = FramedOptions.defaults().withFrameBytesMax(FRAME_MAX).withBackoff(10, 100);

  Vertx a;
  Vertx b;
  PrometheusMeterRegistry registry;
  final List<String> received = new CopyOnWriteArrayList<>();

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

  FramedTransport start(Vertx vertx, String name, int port, FramedOptions options) {
    return start(vertx, name, port, options, Optional.empty());
  }

  FramedTransport start(Vertx vertx, String name, int port, FramedOptions options, Optional<EncryptKey> key) {
    Optional<PacketSealer> sealer = key.map(k -> new PacketSealer(Optional.of(k)));
    FramedTransport transport = await(FramedTransport.start(vertx.getOrCreateContext(), name, "127.0.0.1", port,
        options, registry, sealer, new SplittableRandom(7)));
    transport.handler(frame -> {
      String text = new String(frame.payload(), StandardCharsets.UTF_8);
      received.add(text);
      if (text.startsWith("ask:")) {
        frame.channel().reply(text.substring(4).toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
      }
    });
    return transport;
  }

  static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] frame(String text) {
    return FrameCodec.encode(bytes(text)).getBytes();
  }

  /** Reads until the server closes the socket; true when it did within the socket's timeout. */
  static boolean closedByPeer(Socket socket) throws IOException {
    socket.setSoTimeout((int) WAIT.toMillis());
    InputStream in = socket.getInputStream();
    try {
      while (true) {
        if (in.read() < 0) {
          return true;
        }
      }
    } catch (SocketException e) {
      return true; // connection reset: closed too
    }
  }

  @Test
  void framesArriveInOrderOverOneReusedConnection() {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    FramedTransport client = start(b, "client", 0, OPTIONS);
    IntStream.range(0, 50).forEach(i -> assertThat(client.send("127.0.0.1", server.port(), bytes("m" + i))).isTrue());
    await().atMost(WAIT).until(() -> received.size() == 50);
    assertThat(received).containsExactlyElementsOf(IntStream.range(0, 50).mapToObj(i -> "m" + i).toList());
    assertThat(server.inboundConnections()).isEqualTo(1);
    assertThat(client.outboundConnections()).isEqualTo(1);
  }

  @Test
  void splitWritesAreReassembledAndJoinedWritesSplit() throws IOException {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      OutputStream out = socket.getOutputStream();
      byte[] frame = frame("split across writes");
      out.write(frame, 0, 3); // part of the length prefix only
      out.flush();
      await().atMost(WAIT).until(() -> server.bytesReadCount() >= 3);
      out.write(frame, 3, 5);
      out.flush();
      await().atMost(WAIT).until(() -> server.bytesReadCount() >= 8);
      assertThat(received).isEmpty();
      out.write(frame, 8, frame.length - 8);
      byte[] two = new byte[frame("x").length + frame("y").length];
      System.arraycopy(frame("x"), 0, two, 0, frame("x").length);
      System.arraycopy(frame("y"), 0, two, frame("x").length, frame("y").length);
      out.write(two);
      out.flush();
      await().atMost(WAIT).until(() -> received.size() == 3);
      assertThat(received).containsExactly("split across writes", "x", "y");
    }
  }

  @Test
  void anOversizedFrameClosesTheConnectionAndIsCounted() throws IOException {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeInt(FRAME_MAX + 1);
      out.write(new byte[64]);
      out.flush();
      assertThat(closedByPeer(socket)).isTrue();
    }
    assertThat(server.dropped("oversize")).isEqualTo(1);
    // the listener keeps serving
    FramedTransport client = start(b, "client", 0, OPTIONS);
    client.send("127.0.0.1", server.port(), bytes("still here"));
    await().atMost(WAIT).until(() -> received.contains("still here"));
    // and frames exactly at the bound pass
    assertThat(client.send("127.0.0.1", server.port(), new byte[client.payloadBytesMax()])).isTrue();
    await().atMost(WAIT).until(() -> received.size() == 2);
    assertThat(client.send("127.0.0.1", server.port(), new byte[client.payloadBytesMax() + 1])).isFalse();
    assertThat(client.dropped("oversize_outbound")).isEqualTo(1);
  }

  @Test
  void malformedLengthsAndUnknownVersionsCloseTheConnection() throws IOException {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeInt(0);
      out.flush();
      assertThat(closedByPeer(socket)).isTrue();
    }
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeInt(3);
      out.write(new byte[] {9, 'h', 'i'});
      out.flush();
      assertThat(closedByPeer(socket)).isTrue();
    }
    assertThat(server.dropped("malformed")).isEqualTo(1);
    assertThat(server.dropped("bad_version")).isEqualTo(1);
    assertThat(received).isEmpty();
  }

  @Test
  void garbageIsCountedAndTheServerKeepsRunning() throws IOException {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    SplittableRandom random = new SplittableRandom(42);
    for (int i = 0; i < 5; i++) {
      byte[] garbage = new byte[4_096];
      random.nextBytes(garbage);
      garbage[0] = (byte) 0x7f; // a length far beyond the bound
      try (Socket socket = new Socket("127.0.0.1", server.port())) {
        socket.getOutputStream().write(garbage);
        socket.getOutputStream().flush();
        assertThat(closedByPeer(socket)).isTrue();
      }
    }
    assertThat(server.dropped("oversize")).isEqualTo(5);
    await().atMost(WAIT).until(() -> server.inboundConnections() == 0);
    FramedTransport client = start(b, "client", 0, OPTIONS);
    client.send("127.0.0.1", server.port(), bytes("after the garbage"));
    await().atMost(WAIT).until(() -> received.contains("after the garbage"));
  }

  @Test
  void reconnectsWithBackoffAfterThePeerRestarts() {
    FramedTransport first = start(a, "server", 0, OPTIONS);
    int port = first.port();
    FramedTransport client = start(b, "client", 0, OPTIONS);
    client.send("127.0.0.1", port, bytes("one"));
    await().atMost(WAIT).until(() -> received.contains("one"));

    await(first.close());
    await().atMost(WAIT).until(() -> client.outboundConnections() == 0);
    client.send("127.0.0.1", port, bytes("two")); // queued while the peer is down
    await().atMost(WAIT).until(() -> registry.find("conclave.transport.connect.failures").counter() != null
        && registry.find("conclave.transport.connect.failures").counter().count() >= 2);

    start(a, "server2", port, OPTIONS);
    await().atMost(WAIT).until(() -> received.contains("two"));
    client.send("127.0.0.1", port, bytes("three"));
    await().atMost(WAIT).until(() -> received.contains("three"));
    assertThat(received).containsExactly("one", "two", "three");
    assertThat(client.outboundConnections()).isEqualTo(1);
  }

  @Test
  void theQueueKeepsTheNewestFramesWhileThePeerIsDown() {
    FramedTransport placeholder = start(a, "placeholder", 0, OPTIONS);
    int port = placeholder.port();
    await(placeholder.close());
    FramedTransport client = start(b, "client", 0, OPTIONS.withQueueFramesMax(4));
    IntStream.range(0, 10).forEach(i -> client.send("127.0.0.1", port, bytes("q" + i)));
    await().atMost(WAIT).until(() -> client.dropped("queue_full") == 6);
    start(a, "server", port, OPTIONS);
    await().atMost(WAIT).until(() -> received.size() == 4);
    assertThat(received).containsExactly("q6", "q7", "q8", "q9");
  }

  @Test
  void requestAwaitsOneReplyFrame() {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    FramedTransport client = start(b, "client", 0, OPTIONS);
    byte[] reply = await(client.request("127.0.0.1", server.port(), bytes("ask:state please"), WAIT));
    assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("STATE PLEASE");
    assertThat(client.outboundConnections()).as("requests use their own connection").isZero();
    await().atMost(WAIT).until(() -> server.inboundConnections() == 0);
  }

  @Test
  void requestTimesOutWithoutAReply() {
    FramedTransport server = start(a, "server", 0, OPTIONS);
    FramedTransport client = start(b, "client", 0, OPTIONS);
    Throwable failure = awaitFailure(client.request("127.0.0.1", server.port(), bytes("silence"), Duration.ofMillis(200)));
    assertThat(failure).isInstanceOf(TimeoutException.class);
    assertThat(received).containsExactly("silence");
    Throwable refused = awaitFailure(client.request("127.0.0.1", 1, bytes("ask:x"), WAIT));
    assertThat(refused).isNotInstanceOf(TimeoutException.class);
  }

  @Test
  void sealedFramesNeedTheSameKey() throws IOException {
    Optional<EncryptKey> key = Optional.of(EncryptKey.of(UdpTransportTest.key(1)));
    Optional<EncryptKey> otherKey = Optional.of(EncryptKey.of(UdpTransportTest.key(2)));
    FramedTransport server = start(a, "server", 0, OPTIONS, key);
    FramedTransport friend = start(b, "friend", 0, OPTIONS, key);
    byte[] reply = await(friend.request("127.0.0.1", server.port(), bytes("ask:members"), WAIT));
    assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("MEMBERS");
    assertThat(friend.payloadBytesMax()).isEqualTo(FRAME_MAX - 1 - PacketSealer.SEALED_OVERHEAD_BYTES);

    FramedTransport stranger = start(b, "stranger", 0, OPTIONS, otherKey);
    assertThat(awaitFailure(stranger.request("127.0.0.1", server.port(), bytes("ask:members"), WAIT)))
        .as("the server closes on a frame it cannot open").isNotInstanceOf(TimeoutException.class);
    assertThat(server.dropped("unseal_failed")).isEqualTo(1);
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.getOutputStream().write(frame("\u0001plain text to a sealed listener"));
      socket.getOutputStream().flush();
      assertThat(closedByPeer(socket)).isTrue();
    }
    assertThat(server.dropped("plain_rejected")).isEqualTo(1);
    assertThat(received).containsExactly("ask:members");
  }

  @Test
  void aConnectionFloodIsBounded() throws IOException {
    FramedTransport server = start(a, "server", 0, OPTIONS.withInboundConnectionsMax(2));
    try (Socket one = new Socket("127.0.0.1", server.port());
        Socket two = new Socket("127.0.0.1", server.port())) {
      await().atMost(WAIT).until(() -> server.inboundConnections() == 2);
      try (Socket three = new Socket("127.0.0.1", server.port())) {
        assertThat(closedByPeer(three)).isTrue();
      }
      assertThat(server.dropped("too_many_connections")).isEqualTo(1);
      one.getOutputStream().write(frame("first is fine"));
      one.getOutputStream().flush();
      await().atMost(WAIT).until(() -> received.contains("first is fine"));
      assertThat(two.isClosed()).isFalse();
    }
  }
}
