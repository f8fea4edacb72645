package io.conclave.daemon.bridge;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Autopilot thresholds. Today they are daemon settings (every server should run the same values);
 * agreeing on them through Raft is left to do.
 *
 * @param interval how often the leader reviews the configuration; default 1 s
 * @param stabilization how long a learner must stay caught up, reachable and alive in gossip before
 *     it is promoted to voter; default 10 s (Consul's ServerStabilizationTime). Lower promotes
 *     sooner, and a flapping server may then become a voter that hurts the quorum.
 * @param cleanupFailed how long gossip must show a server failed (or not at all) before it is removed
 *     from the configuration; default 30 s. Lower shrinks the quorum sooner after a crash; a server
 *     that was only paused then has to be added again.
 * @param maxLagEntries a learner counts as caught up when its match index is within this many entries
 *     of the leader's last index; default 50
 */
public record AutopilotSettings(Duration interval, Duration stabilization, Duration cleanupFailed,
    long maxLagEntries) {

  public AutopilotSettings {
    List<String> problems = new ArrayList<>();
    if (interval.isNegative() || interval.isZero()) problems.add("interval " + interval + " <= 0");
    if (stabilization.isNegative()) problems.add("stabilization " + stabilization + " < 0");
    if (cleanupFailed.isNegative()) problems.add("cleanupFailed " + cleanupFailed + " < 0");
    if (maxLagEntries < 0) problems.add("maxLagEntries " + maxLagEntries + " < 0");
    if (!problems.isEmpty()) throw new IllegalArgumentException("bad autopilot settings: " + String.join("; ", problems));
  }

  public static AutopilotSettings defaults() {
    return new AutopilotSettings(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30), 50);
  }
}
