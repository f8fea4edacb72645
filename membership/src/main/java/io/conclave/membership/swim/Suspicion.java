package io.conclave.membership.swim;

import java.util.HashSet;
import java.util.Set;

/**
 * Lifeguard's dynamic suspicion timeout for one suspected member (Lifeguard §IV-B; memberlist
 * suspicion.go). The timer starts at {@code maxMs} and shrinks towards {@code minMs} as independent
 * members confirm the suspicion: after c of the k expected confirmations the timeout is
 *
 * <pre>  max(min, max − (max − min) · log(c + 1) / log(k + 1))</pre>
 *
 * measured from the moment this member first heard the suspicion. A live member is rarely suspected by
 * several members at once, so it keeps a long timeout and time to refute; a crashed member is suspected
 * by everyone who probes it, so its timeout quickly falls to the minimum.
 */
public final class Suspicion {
  private final long startMs;
  private final long minMs;
  private final long maxMs;
  private final int expectedConfirmations; // k
  private final Set<String> confirmers = new HashSet<>(); // invariant: size <= k + 1, includes the first accuser
  private int confirmations; // c: distinct accusers after the first; invariant: c <= k
  private long deadlineMs;

  public Suspicion(String firstAccuser, int expectedConfirmations, long minMs, long maxMs, long nowMs) {
    if (minMs <= 0 || maxMs < minMs || expectedConfirmations < 0) {
      throw new IllegalArgumentException(String.format(
          "bad suspicion timer: min %d ms, max %d ms, k %d", minMs, maxMs, expectedConfirmations));
    }
    this.startMs = nowMs;
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.expectedConfirmations = expectedConfirmations;
    confirmers.add(firstAccuser);
    this.deadlineMs = nowMs + (expectedConfirmations == 0 ? minMs : maxMs);
  }

  /**
   * Records that {@code accuser} also suspects the member. Returns true when this is a new independent
   * confirmation (the caller then re-gossips the suspicion so others shrink their timers too).
   */
  public boolean confirm(String accuser) {
    if (confirmations >= expectedConfirmations || !confirmers.add(accuser)) {
      return false;
    }
    confirmations++;
    deadlineMs = startMs + timeoutMs(confirmations, expectedConfirmations, minMs, maxMs);
    return true;
  }

  public long deadlineMs() {
    return deadlineMs;
  }

  public int confirmations() {
    return confirmations;
  }

  /** The timeout after {@code c} of {@code k} confirmations (memberlist remainingSuspicionTime). */
  public static long timeoutMs(int c, int k, long minMs, long maxMs) {
    if (k <= 0) {
      return minMs;
    }
    double frac = Math.log(c + 1.0) / Math.log(k + 1.0);
    long raw = (long) Math.floor(maxMs - frac * (maxMs - minMs));
    return Math.max(minMs, raw);
  }

  /**
   * The minimum suspicion timeout for a cluster of {@code n}: {@code mult · max(1, log10(n)) · probe
   * interval} (memberlist util.go suspicionTimeout). It grows with log n because a refutation needs about
   * log n gossip rounds to reach everyone.
   */
  public static long minTimeoutMs(double mult, int n, long probeIntervalMs) {
    double nodeScale = Math.max(1.0, Math.log10(Math.max(1.0, n)));
    return (long) Math.floor(mult * nodeScale * probeIntervalMs);
  }
}
