package io.conclave.daemon.kv;

import java.time.Duration;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * How long a blocking query waits, as Consul's agent/consul/rpc.go: the {@code ?wait=} Go
 * duration, 5 min when absent or not positive, capped at 10 min, plus a random jitter of up to
 * wait/16 so many watchers of one key do not all return at once.
 */
public final class BlockingWait {
  public static final Duration DEFAULT = Duration.ofMinutes(5);
  public static final Duration MAX = Duration.ofMinutes(10);
  public static final int JITTER_FRACTION = 16;

  private BlockingWait() {}

  /** The wait in ms, or empty for bad syntax (a 400 {@code Invalid wait time}). */
  public static Optional<Long> resolveMs(String param, RandomGenerator random) {
    Duration wait = DEFAULT;
    if (param != null && !param.isEmpty()) {
      Optional<Duration> parsed = GoDuration.parse(param);
      if (parsed.isEmpty()) {
        return Optional.empty();
      }
      wait = parsed.get();
    }
    if (wait.compareTo(MAX) > 0) {
      wait = MAX;
    } else if (wait.isNegative() || wait.isZero()) {
      wait = DEFAULT;
    }
    long ms = Math.max(1, wait.toMillis());
    long jitterBound = ms / JITTER_FRACTION;
    return Optional.of(ms + (jitterBound > 0 ? random.nextLong(jitterBound) : 0));
  }
}
