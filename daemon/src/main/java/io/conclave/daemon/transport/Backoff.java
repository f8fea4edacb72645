package io.conclave.daemon.transport;

import java.util.random.RandomGenerator;

/**
 * Exponential back-off with "equal jitter": attempt n waits between half and all of
 * {@code min(maxMs, minMs * 2^(n-1))}. The jitter keeps a cluster's daemons from reconnecting in
 * lock-step after a shared outage; the cap bounds how late a recovered peer is noticed.
 *
 * @param minMs the first delay's upper bound, ms (> 0)
 * @param maxMs the cap, ms (>= minMs): raising it saves connect attempts to a long-dead peer but
 *     delays reconnecting once it is back by up to this long
 */
public record Backoff(long minMs, long maxMs) {

  public Backoff {
    if (minMs <= 0 || maxMs < minMs) {
      throw new IllegalArgumentException("backoff needs 0 < minMs <= maxMs, got " + minMs + ", " + maxMs);
    }
  }

  /** The delay before attempt {@code attempt} (1 = first retry), in ms, in [1, maxMs]. */
  public long delayMs(int attempt, RandomGenerator random) {
    int doublings = Math.max(0, Math.min(attempt - 1, 30));
    long ceiling = Math.min(maxMs, minMs << doublings);
    if (ceiling < 0) {
      ceiling = maxMs;
    }
    long half = ceiling / 2;
    return Math.max(1, half + random.nextLong(ceiling - half + 1));
  }
}
