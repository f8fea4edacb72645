package io.conclave.daemon.transport;

import io.vertx.core.net.SocketAddress;

/**
 * One frame read from a connection.
 *
 * @param remote the connection's remote address (for a peer's own outbound connection this is
 *     its ephemeral port, not its listening port: identify peers by the message, not by this)
 * @param payload the frame's payload
 * @param channel the connection it came on, to answer a request
 */
public record InboundFrame(SocketAddress remote, byte[] payload, FrameChannel channel) {

  /** The connection a frame arrived on. */
  public interface FrameChannel {
    /** Writes one frame back on this connection; false when closed or the payload is oversized. */
    boolean reply(byte[] payload);

    /** Closes the connection. */
    void close();
  }
}
