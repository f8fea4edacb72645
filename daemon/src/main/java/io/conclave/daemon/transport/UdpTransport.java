package io.conclave.daemon.transport;

import io.conclave.daemon.config.EncryptKey;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramPacket;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.SocketAddress;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gossip datagrams. Carries opaque bytes for the gossip core; wraps each in the
 * {@link PacketSealer} envelope (AES-256-GCM with {@code --encrypt}).
 *
 * <p>Threading: the socket lives on the {@link Context} given to {@link #bind}; the inbound handler
 * runs there. {@link #send} may be called from any thread.
 *
 * <p>Bound: a packet on the wire is at most {@link #PACKET_BYTES_MAX} bytes (memberlist's
 * UDPBufferSize, below a typical 1,500-byte MTU after IP/UDP headers), so a gossip packet is never
 * fragmented. {@link #payloadBytesMax()} is the payload budget after the envelope.
 */
public final class UdpTransport {
  private static final Logger LOG = LoggerFactory.getLogger(UdpTransport.class);

  /** The largest datagram sent or accepted, envelope included. */
  public static final int PACKET_BYTES_MAX = 1_400;

  /** Receives one unsealed payload; runs on the transport's context. */
  @FunctionalInterface
  public interface PacketHandler {
    void onPacket(SocketAddress sender, byte[] payload);
  }

  /** {@link #send} refused a payload that would not fit one packet; the send was counted. */
  public static final class PacketTooLargeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PacketTooLargeException(int payloadBytes, int payloadBytesMax) {
      super("payload of " + payloadBytes + " bytes exceeds " + payloadBytesMax + " bytes", null, false, false);
    }
  }

  private final DatagramSocket socket;
  private final PacketSealer sealer;
  private final TransportMetrics metrics;
  private volatile PacketHandler handler;

  private UdpTransport(DatagramSocket socket, PacketSealer sealer, TransportMetrics metrics) {
    this.socket = socket;
    this.sealer = sealer;
    this.metrics = metrics;
  }

  /**
   * Binds a socket on {@code host:port} (0 = ephemeral) from within {@code context}.
   *
   * @param name the {@code transport} tag of this transport's metrics, e.g. {@code gossip-udp}
   */
  public static Future<UdpTransport> bind(Context context, String name, String host, int port,
      Optional<EncryptKey> key, MeterRegistry registry) {
    Promise<UdpTransport> bound = Promise.promise();
    context.runOnContext(v -> {
      Vertx vertx = context.owner();
      DatagramSocket socket = vertx.createDatagramSocket(new DatagramSocketOptions().setReuseAddress(false));
      UdpTransport transport = new UdpTransport(socket, new PacketSealer(key), new TransportMetrics(registry, name));
      socket.handler(transport::receive);
      socket.listen(port, host).map(s -> transport).onComplete(bound);
    });
    return bound.future();
  }

  /** Sets the receiver of inbound payloads; until one is set, packets are dropped ("no_handler"). */
  public void handler(PacketHandler handler) {
    this.handler = Objects.requireNonNull(handler, "handler");
  }

  /** The largest payload {@link #send} accepts: the packet bound less the envelope. */
  public int payloadBytesMax() {
    return PACKET_BYTES_MAX - sealer.overheadBytes();
  }

  /**
   * Sends one payload. Fails with {@link PacketTooLargeException} (and counts "oversize") when it
   * exceeds {@link #payloadBytesMax()}: the gossip core must pack its messages into the budget.
   */
  public Future<Void> send(byte[] payload, String host, int port) {
    if (payload.length > payloadBytesMax()) {
      metrics.dropped("oversize");
      return Future.failedFuture(new PacketTooLargeException(payload.length, payloadBytesMax()));
    }
    byte[] packet = sealer.seal(payload);
    return socket.send(Buffer.buffer(packet), port, host)
        .onSuccess(v -> metrics.sent(packet.length))
        .onFailure(e -> {
          metrics.dropped("send_failed");
          LOG.debug("udp send failed transport={} to={}:{} error={}", metrics.transport(), host, port, e.toString());
        });
  }

  private void receive(DatagramPacket packet) {
    Buffer data = packet.data();
    if (data.length() > PACKET_BYTES_MAX) {
      drop("oversize_inbound", packet.sender());
      return;
    }
    PacketSealer.Opened opened = sealer.open(data.getBytes());
    if (!opened.ok()) {
      drop(opened.dropReason(), packet.sender());
      return;
    }
    PacketHandler current = handler;
    if (current == null) {
      drop("no_handler", packet.sender());
      return;
    }
    metrics.received(data.length());
    current.onPacket(packet.sender(), opened.payload());
  }

  private void drop(String reason, SocketAddress sender) {
    metrics.dropped(reason);
    LOG.debug("udp packet dropped transport={} reason={} from={}", metrics.transport(), reason, sender);
  }

  /** The bound port (the real one when bound to port 0). */
  public int port() {
    return socket.localAddress().port();
  }

  /** Packets dropped for {@code reason} ("oversize", "unseal_failed", "plain_rejected", ...). */
  public long dropped(String reason) {
    return metrics.droppedCount(reason);
  }

  public long receivedCount() {
    return metrics.receivedCount();
  }

  public Future<Void> close() {
    return socket.close();
  }
}
