package io.conclave.daemon.bridge;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Autopilot thresholds. Each server starts from its own (the defaults); a cluster-wide override lives
 * in the replicated KV store under {@link #KEY} as JSON ({@code {"stabilization_ms":10000,
 * "cleanup_failed_ms":30000,"max_lag_entries":50}}, any subset), so every leader acts on the same
 * values and operators read and write them over HTTP ({@code /v1/kv/conclave/autopilot}). See
 * {@link #parse}. The review interval is not overridable (it is the timer's period).
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

  /** The KV key of the cluster-wide override. */
  public static final String KEY = "conclave/autopilot";

  /**
   * The override in {@code json} applied over {@code base}: fields {@code stabilization_ms},
   * {@code cleanup_failed_ms}, {@code max_lag_entries} (non-negative integers); unknown fields and
   * bad values are refused with one message naming them all.
   */
  public static AutopilotSettings parse(byte[] json, AutopilotSettings base) {
    com.fasterxml.jackson.databind.JsonNode root;
    try {
      root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    List<String> problems = new ArrayList<>();
    Duration stabilization = base.stabilization();
    Duration cleanup = base.cleanupFailed();
    long lag = base.maxLagEntries();
    for (var it = root.fields(); it.hasNext(); ) {
      var field = it.next();
      com.fasterxml.jackson.databind.JsonNode v = field.getValue();
      if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
        problems.add(field.getKey() + ": " + v + " is not a non-negative integer");
        continue;
      }
      switch (field.getKey()) {
        case "stabilization_ms" -> stabilization = Duration.ofMillis(v.asLong());
        case "cleanup_failed_ms" -> cleanup = Duration.ofMillis(v.asLong());
        case "max_lag_entries" -> lag = v.asLong();
        default -> problems.add("unknown field " + field.getKey());
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    return new AutopilotSettings(base.interval(), stabilization, cleanup, lag);
  }

  public static AutopilotSettings defaults() {
    return new AutopilotSettings(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30), 50);
  }
}
