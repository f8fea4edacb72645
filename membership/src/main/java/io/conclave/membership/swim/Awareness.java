package io.conclave.membership.swim;

/**
 * Lifeguard's local health multiplier (Lifeguard §IV-A; memberlist awareness.go). A member that misses
 * Nacks from its helpers or has to refute suspicions about itself is probably the slow one, so it
 * stretches its own probe interval and probe timeout rather than accuse healthy members. Successful
 * probes bring it back down.
 */
public final class Awareness {
  private final int max; // scores are 0..max-1
  private int score; // invariant: 0 <= score < max

  public Awareness(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("awareness max " + max + " < 1");
    }
    this.max = max;
  }

  public void apply(int delta) {
    score = Math.max(0, Math.min(max - 1, score + delta));
  }

  public int score() {
    return score;
  }

  /** {@code timeoutMs · (score + 1)}. */
  public long scale(long timeoutMs) {
    return timeoutMs * (score + 1);
  }
}
