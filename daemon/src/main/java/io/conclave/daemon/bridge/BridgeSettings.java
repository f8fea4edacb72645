package io.conclave.daemon.bridge;

import io.conclave.daemon.gossip.GossipSettings;
import java.time.Duration;
import java.util.Objects;

/**
 * How gossip feeds Raft on this daemon.
 *
 * @param gossip the gossip runtime's settings
 * @param autopilot the leader's autopilot thresholds
 * @param bootstrapSettle how long {@code --bootstrap-expect} must see the same set of voters before it
 *     bootstraps; default 1 s (several gossip rounds), so servers whose views still converge do not
 *     found groups from different sets. Raising it delays the first leader by as much.
 * @param syncPeriod how often a daemon reconciles Raft and gossip: tags (raft_state, leader, term),
 *     the Raft peer map, a client's leader; default 200 ms. A client's leader knowledge is as fresh
 *     as this, so it must stay well under the health's 1 s warning threshold.
 * @param forwardBound how long a request that needs the leader may wait for one (retrying through
 *     elections) before it fails: 500 "No cluster leader" if no leader ever took it; default 7 s,
 *     Consul's RPC hold timeout. Raising it makes clients wait longer for that answer.
 */
public record BridgeSettings(GossipSettings gossip, AutopilotSettings autopilot, Duration bootstrapSettle,
    Duration syncPeriod, Duration forwardBound) {

  /** With the default {@link #forwardBound}. */
  public BridgeSettings(GossipSettings gossip, AutopilotSettings autopilot, Duration bootstrapSettle, Duration syncPeriod) {
    this(gossip, autopilot, bootstrapSettle, syncPeriod, DEFAULT_FORWARD_BOUND);
  }

  public static final Duration DEFAULT_FORWARD_BOUND = Duration.ofSeconds(7);

  public BridgeSettings {
    Objects.requireNonNull(gossip, "gossip");
    Objects.requireNonNull(autopilot, "autopilot");
    if (bootstrapSettle.isNegative() || syncPeriod.isNegative() || syncPeriod.isZero()
        || forwardBound.isNegative() || forwardBound.isZero()) {
      throw new IllegalArgumentException("bad bridge settings: bootstrapSettle " + bootstrapSettle
          + ", syncPeriod " + syncPeriod + ", forwardBound " + forwardBound);
    }
  }

  public static BridgeSettings defaults() {
    return new BridgeSettings(GossipSettings.lan(), AutopilotSettings.defaults(), Duration.ofSeconds(1),
        Duration.ofMillis(200));
  }

  public BridgeSettings withAutopilot(AutopilotSettings a) {
    return new BridgeSettings(gossip, a, bootstrapSettle, syncPeriod, forwardBound);
  }

  public BridgeSettings withGossip(GossipSettings g) {
    return new BridgeSettings(g, autopilot, bootstrapSettle, syncPeriod, forwardBound);
  }

  public BridgeSettings withBootstrapSettle(Duration d) {
    return new BridgeSettings(gossip, autopilot, d, syncPeriod, forwardBound);
  }

  public BridgeSettings withForwardBound(Duration d) {
    return new BridgeSettings(gossip, autopilot, bootstrapSettle, syncPeriod, d);
  }
}
