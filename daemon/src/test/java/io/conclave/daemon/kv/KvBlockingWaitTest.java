package io.conclave.daemon.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Go's duration syntax for ?wait and Consul's default, cap and jitter (rpc.go). */
class KvBlockingWaitTest {
  @Test
  void parsesGoDurations() {
    assertThat(GoDuration.parse("10s")).contains(Duration.ofSeconds(10));
    assertThat(GoDuration.parse("5m")).contains(Duration.ofMinutes(5));
    assertThat(GoDuration.parse("1.5s")).contains(Duration.ofMillis(1500));
    assertThat(GoDuration.parse("2h45m")).contains(Duration.ofMinutes(165));
    assertThat(GoDuration.parse("300ms")).contains(Duration.ofMillis(300));
    assertThat(GoDuration.parse("10us")).contains(Duration.ofNanos(10_000));
    assertThat(GoDuration.parse("7ns")).contains(Duration.ofNanos(7));
    assertThat(GoDuration.parse("0")).contains(Duration.ZERO);
    assertThat(GoDuration.parse("-1m")).contains(Duration.ofMinutes(-1));
    for (String bad : new String[] {"", "10", "s", "1x", "1..2s", ".s", "abc", "-", "5 m", "1e3s"}) {
      assertThat(GoDuration.parse(bad)).as(bad).isEmpty();
    }
  }

  @Test
  void defaultCapAndJitter() {
    SplittableRandom random = new SplittableRandom(1);
    for (int i = 0; i < 200; i++) {
      long def = BlockingWait.resolveMs(null, random).orElseThrow();
      assertThat(def).isBetween(300_000L, 300_000L + 300_000L / 16);
      long capped = BlockingWait.resolveMs("1h", random).orElseThrow();
      assertThat(capped).isBetween(600_000L, 600_000L + 600_000L / 16);
      long ten = BlockingWait.resolveMs("10s", random).orElseThrow();
      assertThat(ten).isBetween(10_000L, 10_625L);
      assertThat(BlockingWait.resolveMs("0s", random).orElseThrow()).isGreaterThanOrEqualTo(300_000L);
    }
    assertThat(BlockingWait.resolveMs("soon", random)).isEmpty();
  }

  @Test
  void jitterActuallyVaries() {
    SplittableRandom random = new SplittableRandom(2);
    java.util.Set<Long> values = new java.util.HashSet<>();
    for (int i = 0; i < 50; i++) {
      values.add(BlockingWait.resolveMs("16s", random).orElseThrow());
    }
    assertThat(values).hasSizeGreaterThan(10);
  }
}
