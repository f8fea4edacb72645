package io.conclave.daemon.transport;

import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * The stream framing of Raft and gossip push-pull over TCP:
 * {@code [length: 4 bytes, big-endian][version: 1 byte][payload]}, where length counts the version
 * byte and the payload (so it is at least 1). Version {@value #VERSION} is the only one today; a
 * frame of another version closes the connection, since the peer speaks a protocol we don't.
 */
public final class FrameCodec {
  public static final byte VERSION = 1;
  public static final int LENGTH_BYTES = 4;

  private FrameCodec() {}

  /** The frame length (version + payload) of a payload. */
  public static int frameBytes(int payloadBytes) {
    return payloadBytes + 1;
  }

  /**
   * Encodes one frame: a 5-byte header before {@code payload}, which is wrapped, not copied (an
   * AppendEntries payload is most of a leader's outbound bytes), so the caller must not change it.
   * Uses Vert.x's internal {@link BufferInternal#buffer(io.netty.buffer.ByteBuf)}: the public
   * {@code Buffer.buffer(byte[])} copies.
   */
  public static Buffer encode(byte[] payload) {
    int length = frameBytes(payload.length);
    byte[] header = {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length, VERSION};
    return BufferInternal.buffer(Unpooled.wrappedBuffer(header, payload));
  }
}
