package io.conclave.daemon.http;

import java.time.Duration;

/**
 * Thresholds of /v1/health.
 *
 * @param leaderContactWarn leader silent longer than this is "warning" (429); default 1 s. A
 *     healthy follower hears a heartbeat every few tens of ms, so 1 s means trouble is brewing
 *     (Consul's autopilot flags a server after 200 ms). Lowering it makes probes flap under GC
 *     pauses; a client agent must refresh its leader knowledge more often than this.
 * @param leaderContactCritical leader silent longer than this is "critical" (503); default 10 s
 */
public record HealthPolicy(Duration leaderContactWarn, Duration leaderContactCritical) {

  public HealthPolicy {
    if (leaderContactWarn.isNegative() || leaderContactCritical.compareTo(leaderContactWarn) < 0) {
      throw new IllegalArgumentException("need 0 <= warn <= critical, got " + leaderContactWarn
          + ", " + leaderContactCritical);
    }
  }

  public static HealthPolicy defaults() {
    return new HealthPolicy(Duration.ofSeconds(1), Duration.ofSeconds(10));
  }
}
