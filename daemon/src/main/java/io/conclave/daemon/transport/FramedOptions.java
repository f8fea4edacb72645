package io.conclave.daemon.transport;

/**
 * Bounds and timings of a {@link FramedTransport}.
 *
 * @param frameBytesMax largest frame accepted or sent (version byte + payload), bytes; default
 *     4 MiB. A bigger length prefix closes the connection. Raising it lets Raft ship bigger
 *     batches but lets one bad peer make us buffer that much per connection.
 * @param queueFramesMax frames waiting per peer while disconnected or congested; default 1,024.
 *     Past it the oldest is dropped (counted "queue_full"): Raft and gossip resend newer state, so
 *     the newest frames matter most.
 * @param queueBytesMax bytes waiting per peer, same policy; default 16 MiB
 * @param inboundConnectionsMax accepted connections at once; more are closed (counted
 *     "too_many_connections"); default 256. Bounds a connection flood.
 * @param backoffMinMs first reconnect delay (upper bound, jittered), ms; default 50
 * @param backoffMaxMs reconnect delay cap, ms; default 5,000
 * @param connectTimeoutMs TCP connect timeout, ms; default 2,000
 * @param idleTimeoutSeconds inbound connections silent this long are closed; default 300 (a Raft
 *     leader's heartbeats keep its connections busy; a stalled half-frame is reclaimed)
 */
public record FramedOptions(
    int frameBytesMax,
    int queueFramesMax,
    long queueBytesMax,
    int inboundConnectionsMax,
    long backoffMinMs,
    long backoffMaxMs,
    int connectTimeoutMs,
    int idleTimeoutSeconds) {

  public FramedOptions {
    if (frameBytesMax < 2 || queueFramesMax < 1 || queueBytesMax < frameBytesMax
        || inboundConnectionsMax < 1 || connectTimeoutMs < 1 || idleTimeoutSeconds < 0) {
      throw new IllegalArgumentException("bad framed transport options: " + frameBytesMax + ", "
          + queueFramesMax + ", " + queueBytesMax + ", " + inboundConnectionsMax + ", "
          + connectTimeoutMs + ", " + idleTimeoutSeconds);
    }
    new Backoff(backoffMinMs, backoffMaxMs); // validates
  }

  public static FramedOptions defaults() {
    return new FramedOptions(4 << 20, 1_024, 16L << 20, 256, 50, 5_000, 2_000, 300);
  }

  public FramedOptions withFrameBytesMax(int bytes) {
    return new FramedOptions(bytes, queueFramesMax, Math.max(queueBytesMax, bytes),
        inboundConnectionsMax, backoffMinMs, backoffMaxMs, connectTimeoutMs, idleTimeoutSeconds);
  }

  public FramedOptions withQueueFramesMax(int frames) {
    return new FramedOptions(frameBytesMax, frames, queueBytesMax, inboundConnectionsMax,
        backoffMinMs, backoffMaxMs, connectTimeoutMs, idleTimeoutSeconds);
  }

  public FramedOptions withInboundConnectionsMax(int connections) {
    return new FramedOptions(frameBytesMax, queueFramesMax, queueBytesMax, connections,
        backoffMinMs, backoffMaxMs, connectTimeoutMs, idleTimeoutSeconds);
  }

  public FramedOptions withBackoff(long minMs, long maxMs) {
    return new FramedOptions(frameBytesMax, queueFramesMax, queueBytesMax, inboundConnectionsMax,
        minMs, maxMs, connectTimeoutMs, idleTimeoutSeconds);
  }

  Backoff backoff() {
    return new Backoff(backoffMinMs, backoffMaxMs);
  }
}
