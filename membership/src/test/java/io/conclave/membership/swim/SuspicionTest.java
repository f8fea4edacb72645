package io.conclave.membership.swim;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** Lifeguard §IV-B dynamic suspicion timeout, with memberlist's numbers (ANCHORS §1). */
class SuspicionTest {
  @Test
  void memberlistDefaultsGiveTheAnchoredTimeouts() {
    SwimConfig ml = SwimConfig.memberlistLan();
    assertThat(ml.suspicionMinMs(10)).isEqualTo(4_000);
    assertThat(ml.suspicionMaxMs(10)).isEqualTo(24_000);
    assertThat(ml.suspicionMinMs(100)).isEqualTo(8_000);
    assertThat(ml.suspicionMaxMs(100)).isEqualTo(48_000);
    assertThat(ml.suspicionMinMs(1000)).isEqualTo(12_000);
    assertThat(ml.suspicionMaxMs(1000)).isEqualTo(72_000);
  }

  @Test
  void timerStartsAtMaxAndReachesMinAfterKConfirmations() {
    Suspicion s = new Suspicion("a", 3, 2_000, 12_000, 100);
    assertThat(s.deadlineMs()).isEqualTo(100 + 12_000);
    assertThat(s.confirm("a")).isFalse(); // the first accuser does not confirm itself
    assertThat(s.confirm("b")).isTrue();
    long afterOne = s.deadlineMs();
    assertThat(afterOne).isLessThan(100 + 12_000);
    assertThat(s.confirm("b")).isFalse(); // not independent
    s.confirm("c");
    s.confirm("d");
    assertThat(s.deadlineMs()).isEqualTo(100 + 2_000);
    assertThat(s.confirm("e")).isFalse(); // beyond k nothing changes
  }

  @Test
  void noExpectedConfirmationsMeansTheMinimum() {
    assertThat(new Suspicion("a", 0, 2_000, 12_000, 0).deadlineMs()).isEqualTo(2_000);
  }

  @Test
  void pushPullIntervalScalesAboveThirtyTwoMembers() {
    SwimConfig c = SwimConfig.lan();
    assertThat(c.pushPullIntervalMs(32)).isEqualTo(30_000);
    assertThat(c.pushPullIntervalMs(64)).isEqualTo(60_000);
    assertThat(c.pushPullIntervalMs(1000)).isEqualTo(180_000); // ceil(log2(1000/32)) + 1 = 6
  }

  @Property(tries = 500)
  void timeoutShrinksMonotonicallyWithinBounds(@ForAll @IntRange(min = 1, max = 10) int k,
      @ForAll @LongRange(min = 1, max = 100_000) long min, @ForAll @IntRange(min = 1, max = 10) int mult) {
    long max = min * mult;
    long previous = Long.MAX_VALUE;
    for (int c = 0; c <= k; c++) {
      long t = Suspicion.timeoutMs(c, k, min, max);
      assertThat(t).isBetween(min, max).isLessThanOrEqualTo(previous);
      previous = t;
    }
    assertThat(Suspicion.timeoutMs(k, k, min, max)).isEqualTo(min);
    assertThat(Suspicion.timeoutMs(0, k, min, max)).isEqualTo(max);
  }
}
