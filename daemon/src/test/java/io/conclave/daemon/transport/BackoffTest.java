package io.conclave.daemon.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Back-off doubles from the minimum to the cap, with jitter in the upper half of each step. */
class BackoffTest {
  @Test
  void delaysDoubleUpToTheCapWithEqualJitter() {
    Backoff backoff = new Backoff(50, 5_000);
    SplittableRandom random = new SplittableRandom(1);
    for (int attempt = 1; attempt <= 40; attempt++) {
      long ceiling = Math.min(5_000, 50L << Math.min(attempt - 1, 30));
      for (int i = 0; i < 200; i++) {
        assertThat(backoff.delayMs(attempt, random)).as("attempt %d", attempt).isBetween(ceiling / 2, ceiling);
      }
    }
    assertThat(backoff.delayMs(Integer.MAX_VALUE, random)).isBetween(2_500L, 5_000L);
  }

  @Test
  void badBoundsAreRefused() {
    assertThatThrownBy(() -> new Backoff(0, 10)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Backoff(100, 10)).isInstanceOf(IllegalArgumentException.class);
  }
}
