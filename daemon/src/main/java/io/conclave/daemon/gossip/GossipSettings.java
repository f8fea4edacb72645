package io.conclave.daemon.gossip;

import io.conclave.membership.swim.SwimConfig;
import java.time.Duration;
import java.util.Objects;

/**
 * How the daemon runs gossip.
 *
 * @param swim the core's protocol settings (see docs/membership.md); default {@link SwimConfig#lan()}.
 *     The packet bound is lowered to the UDP transport's payload budget at start (1,371 bytes sealed).
 * @param joinBackoffMin first retry delay of a join that no seed answered; default 500 ms, doubling
 * @param joinBackoffMax longest delay between join attempts; default 30 s. Lower finds a late seed
 *     sooner at the cost of one TCP connection attempt per seed per retry.
 * @param streamTimeout how long a push-pull may take before it counts as failed; default 10 s
 *     (memberlist's TCP timeout)
 * @param leaveBound how long a graceful leave keeps gossiping its Leave rumor at most; default 5 s.
 *     The rumor is normally out after λ·⌈log10(n+1)⌉ gossip rounds (under a second).
 */
public record GossipSettings(SwimConfig swim, Duration joinBackoffMin, Duration joinBackoffMax,
    Duration streamTimeout, Duration leaveBound) {

  public GossipSettings {
    Objects.requireNonNull(swim, "swim");
    if (joinBackoffMin.isNegative() || joinBackoffMin.isZero() || joinBackoffMax.compareTo(joinBackoffMin) < 0) {
      throw new IllegalArgumentException("need 0 < joinBackoffMin <= joinBackoffMax, got " + joinBackoffMin
          + ", " + joinBackoffMax);
    }
  }

  public static GossipSettings lan() {
    return new GossipSettings(SwimConfig.lan(), Duration.ofMillis(500), Duration.ofSeconds(30),
        Duration.ofSeconds(10), Duration.ofSeconds(5));
  }

  /** Fast timings for tests on loopback: probes every 200 ms, suspicion in about 1 s. */
  public static GossipSettings fastLocal() {
    SwimConfig swim = SwimConfig.local().toBuilder()
        .probeIntervalMs(200).probeTimeoutMs(100).nackTimeoutMs(80)
        .gossipIntervalMs(50).suspicionMult(2).suspicionMaxTimeoutMult(3)
        .pushPullIntervalMs(5_000).reconnectIntervalMs(2_000).gossipToTheDeadMs(5_000)
        .build();
    return new GossipSettings(swim, Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(2),
        Duration.ofSeconds(2));
  }
}
