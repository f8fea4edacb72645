package io.conclave.daemon.transport;

import io.vertx.core.buffer.Buffer;

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

  /** Encodes one frame. */
  public static Buffer encode(byte[] payload) {
    Buffer frame = Buffer.buffer(LENGTH_BYTES + 1 + payload.length);
    frame.appendInt(frameBytes(payload.length));
    frame.appendByte(VERSION);
    frame.appendBytes(payload);
    return frame;
  }
}
