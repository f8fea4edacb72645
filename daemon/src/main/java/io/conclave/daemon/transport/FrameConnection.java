package io.conclave.daemon.transport;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP connection speaking {@link FrameCodec} frames, inbound or outbound. Reads with a
 * {@link RecordParser} that alternates between the 4-byte length and the frame body; a length
 * outside [1, frameBytesMax] or an unknown version is counted and closes the connection (after a
 * bad length the stream cannot be resynchronised). With a {@link PacketSealer}, every payload
 * carries its envelope (gossip push-pull under {@code --encrypt}); one that does not open is
 * dropped by reason and closes the connection. Runs on the socket's context only.
 */
final class FrameConnection implements InboundFrame.FrameChannel {
  private static final Logger LOG = LoggerFactory.getLogger(FrameConnection.class);

  private final NetSocket socket;
  private final int frameBytesMax;
  private final TransportMetrics metrics;
  private final RecordParser parser;
  private final Optional<PacketSealer> sealer;
  private Consumer<InboundFrame> onFrame;
  private boolean readingLength = true;
  private boolean closed;

  FrameConnection(NetSocket socket, int frameBytesMax, Optional<PacketSealer> sealer,
      TransportMetrics metrics, Consumer<InboundFrame> onFrame, Runnable onClose) {
    this.socket = socket;
    this.sealer = sealer;
    this.frameBytesMax = frameBytesMax;
    this.metrics = metrics;
    this.onFrame = onFrame;
    this.parser = RecordParser.newFixed(FrameCodec.LENGTH_BYTES);
    parser.handler(this::record);
    socket.handler(bytes -> {
      if (!closed) {
        metrics.bytesRead(bytes.length());
        parser.handle(bytes);
      }
    });
    socket.closeHandler(v -> {
      closed = true;
      onClose.run();
    });
    socket.exceptionHandler(e ->
        LOG.debug("connection error transport={} remote={} error={}", metrics.transport(), socket.remoteAddress(), e.toString()));
  }

  void onFrame(Consumer<InboundFrame> handler) {
    this.onFrame = handler;
  }

  private void record(Buffer record) {
    if (closed) {
      return; // the rest of a buffer that arrived with a bad frame
    }
    if (readingLength) {
      int length = record.getInt(0);
      if (length < 1) {
        fail("malformed", "length " + length);
      } else if (length > frameBytesMax) {
        fail("oversize", "length " + length + " > " + frameBytesMax);
      } else {
        readingLength = false;
        parser.fixedSizeMode(length);
      }
      return;
    }
    readingLength = true;
    parser.fixedSizeMode(FrameCodec.LENGTH_BYTES);
    byte version = record.getByte(0);
    if (version != FrameCodec.VERSION) {
      fail("bad_version", "version " + version);
      return;
    }
    byte[] payload = record.getBytes(1, record.length());
    if (sealer.isPresent()) {
      PacketSealer.Opened opened = sealer.get().open(payload);
      if (!opened.ok()) {
        fail(opened.dropReason(), "envelope");
        return;
      }
      payload = opened.payload();
    }
    metrics.received(FrameCodec.LENGTH_BYTES + record.length());
    onFrame.accept(new InboundFrame(socket.remoteAddress(), payload, this));
  }

  private void fail(String reason, String detail) {
    metrics.dropped(reason);
    LOG.debug("bad frame, closing transport={} reason={} detail=\"{}\" remote={}",
        metrics.transport(), reason, detail, socket.remoteAddress());
    close();
  }

  /** Writes an encoded frame; false when closed. */
  boolean write(Buffer frame) {
    if (closed) {
      return false;
    }
    socket.write(frame);
    metrics.sent(frame.length());
    return true;
  }

  boolean writeQueueFull() {
    return socket.writeQueueFull();
  }

  void drainHandler(Runnable onDrain) {
    socket.drainHandler(v -> onDrain.run());
  }

  boolean isClosed() {
    return closed;
  }

  @Override
  public boolean reply(byte[] payload) {
    Buffer frame = encode(payload, frameBytesMax, sealer);
    if (frame == null) {
      metrics.dropped("oversize_outbound");
      return false;
    }
    return write(frame);
  }

  /** The frame for {@code payload}, sealed when a sealer is set; null when it exceeds the bound. */
  static Buffer encode(byte[] payload, int frameBytesMax, Optional<PacketSealer> sealer) {
    int overhead = sealer.map(PacketSealer::overheadBytes).orElse(0);
    if (FrameCodec.frameBytes(payload.length + overhead) > frameBytesMax) {
      return null;
    }
    return FrameCodec.encode(sealer.isPresent() ? sealer.get().seal(payload) : payload);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      socket.close();
    }
  }
}
