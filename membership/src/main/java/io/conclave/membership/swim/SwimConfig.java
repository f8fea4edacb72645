package io.conclave.membership.swim;

import java.util.ArrayList;
import java.util.List;

/**
 * Every knob of the gossip core. All durations are milliseconds of the clock the runtime passes to
 * {@link SwimNode#tick}. Start from a profile ({@link #lan()}, {@link #wan()}, {@link #local()}) and
 * change fields with {@link #toBuilder()}. {@link #memberlistLan()} reproduces hashicorp/memberlist's
 * DefaultLANConfig for comparison; docs/membership.md says where and why {@link #lan()} differs.
 */
public record SwimConfig(
    /* Time between two probe rounds of this member (SWIM protocol period). Each round probes one
       member. Default 1,000 ms (memberlist). Lower detects crashes sooner, at more probe packets per
       second. Stretched by the local health multiplier. */
    long probeIntervalMs,
    /* How long to wait for the direct Ack before asking helpers (PingReq). Default 500 ms
       (memberlist). Must exceed the network's round trip at its 99th percentile; lower means more
       indirect probes. Stretched by the local health multiplier. */
    long probeTimeoutMs,
    /* k: helpers asked to ping a target that missed its direct Ack (SWIM §3.1). memberlist: 3; lan(): 4,
       which under 10% loss cuts false suspicions (and the gossip they cost) about 3-fold, for 4 more
       packets only when a direct probe failed. */
    int indirectChecks,
    /* When the direct Ack is late, send the target a second direct Ping together with the PingReqs.
       memberlist sends a TCP ping at that point; the core has no TCP, so it retries over UDP. Under
       10% loss it cuts false suspicions about 5-fold for 2 small packets. lan(): true; memberlistLan():
       false (memberlist's TCP ping is not modelled). */
    boolean retryDirectPing,
    /* How long a helper waits for the target before answering the origin with a Nack. Default 400 ms
       (80% of the probe timeout, so the Nack arrives before the origin's round ends). */
    long nackTimeoutMs,
    /* Lifeguard: upper bound of the local health multiplier; probe interval and timeout are scaled by
       1..this. Default 8 (memberlist). */
    int awarenessMaxMultiplier,
    /* Minimum suspicion timeout = suspicionMult · max(1, log10 n) · probeIntervalMs: 2 s at n=10, 4 s at
       100, 6 s at 1,000 with lan()'s 2 (memberlist: 4, so 4/8/12 s). Lower detects crashes sooner; too
       low lets a suspected live member run out of time to refute, and a paused member must resume
       within about this long. */
    double suspicionMult,
    /* Maximum suspicion timeout = this · minimum: the timeout a suspicion starts with before any
       independent confirmation. Default 6 (memberlist): 12/24/36 s at n = 10/100/1,000 with lan(). */
    double suspicionMaxTimeoutMult,
    /* Lifeguard: independent confirmations after which the suspicion timeout has shrunk to its
       minimum. lan(): 3; memberlist uses suspicionMult − 2 = 2. More makes a false failure need more
       coincident failed probes. Clusters too small to supply them (n − 2 < this) use 0: the minimum. */
    int suspicionConfirmations,
    /* About this many members (chosen at random, each with probability reprobes/(n−2)) probe a member
       out of turn when they first hear it is suspected. For a crashed member their failed probes are
       the independent confirmations that shrink the suspicion timeout within about one probe
       interval; a live member just answers (and sees the carried suspicion, so refutes). Default 4;
       0 (memberlist) disables it. */
    int suspicionReprobes,
    /* λ: each rumor is sent λ·⌈log10(n+1)⌉ times (piggybacked or gossiped). Default 4 (memberlist).
       Higher spreads more surely under loss, at more bytes per rumor. */
    int retransmitMult,
    /* Time between gossip rounds. Each round sends the queued rumors to gossipNodes random members;
       nothing is sent when the queue is empty. Default 200 ms (memberlist). */
    long gossipIntervalMs,
    /* F: members gossiped to per round. Default 3 (memberlist). */
    int gossipNodes,
    /* Failed members stay gossip targets this long after failing, so a live one can hear of its death
       and refute. Default 30,000 ms (memberlist GossipToTheDeadTime). */
    long gossipToTheDeadMs,
    /* Base interval of the full-state push-pull with one random member; above 32 members it is
       multiplied by ⌈log2(n/32)⌉+1 (memberlist pushPullScale). Default 30,000 ms (memberlist). 0
       disables it. */
    long pushPullIntervalMs,
    /* Every this long, push-pull with one random failed member, so a healed partition reconnects
       (Serf's ReconnectInterval). Default 30,000 ms. 0 disables it. */
    long reconnectIntervalMs,
    /* A failed member is forgotten (REAPED) this long after it failed. Default 24 h (Serf
       ReconnectTimeout). Until then it counts in n and is a reconnect candidate. */
    long reapFailedAfterMs,
    /* A left member is forgotten this long after it left. Default 24 h (Serf TombstoneTimeout). */
    long reapLeftAfterMs,
    /* Largest UDP packet we send, rumors included. Default 1,400 bytes (memberlist UDPBufferSize):
       below a 1,500-byte Ethernet MTU with room for IP/UDP and encryption overhead. */
    int packetBytesMax,
    /* Most rumors queued at once; beyond it the most-sent one is dropped and counted. Default 16,384. */
    int broadcastQueueMax,
    /* Most indirect probes this member serves as a helper at once; more PingReqs are dropped and
       counted (HELPER_BUSY). Default 1,024. */
    int indirectProbesMax) {

  public SwimConfig {
    List<String> problems = new ArrayList<>();
    if (probeIntervalMs <= 0) problems.add("probeIntervalMs " + probeIntervalMs + " <= 0");
    if (probeTimeoutMs <= 0 || probeTimeoutMs > probeIntervalMs) {
      problems.add("probeTimeoutMs " + probeTimeoutMs + " outside 1..probeIntervalMs " + probeIntervalMs);
    }
    if (suspicionReprobes < 0) problems.add("suspicionReprobes " + suspicionReprobes + " < 0");
    if (indirectChecks < 0) problems.add("indirectChecks " + indirectChecks + " < 0");
    if (nackTimeoutMs <= 0 || nackTimeoutMs > probeTimeoutMs) {
      problems.add("nackTimeoutMs " + nackTimeoutMs + " outside 1..probeTimeoutMs " + probeTimeoutMs);
    }
    if (awarenessMaxMultiplier < 1) problems.add("awarenessMaxMultiplier " + awarenessMaxMultiplier + " < 1");
    if (!(suspicionMult > 0)) problems.add("suspicionMult " + suspicionMult + " <= 0");
    if (!(suspicionMaxTimeoutMult >= 1)) problems.add("suspicionMaxTimeoutMult " + suspicionMaxTimeoutMult + " < 1");
    if (suspicionConfirmations < 0) problems.add("suspicionConfirmations " + suspicionConfirmations + " < 0");
    if (retransmitMult < 1) problems.add("retransmitMult " + retransmitMult + " < 1");
    if (gossipIntervalMs <= 0) problems.add("gossipIntervalMs " + gossipIntervalMs + " <= 0");
    if (gossipNodes < 0) problems.add("gossipNodes " + gossipNodes + " < 0");
    if (gossipToTheDeadMs < 0) problems.add("gossipToTheDeadMs " + gossipToTheDeadMs + " < 0");
    if (pushPullIntervalMs < 0) problems.add("pushPullIntervalMs " + pushPullIntervalMs + " < 0");
    if (reconnectIntervalMs < 0) problems.add("reconnectIntervalMs " + reconnectIntervalMs + " < 0");
    if (reapFailedAfterMs <= 0) problems.add("reapFailedAfterMs " + reapFailedAfterMs + " <= 0");
    if (reapLeftAfterMs <= 0) problems.add("reapLeftAfterMs " + reapLeftAfterMs + " <= 0");
    if (packetBytesMax < 512 || packetBytesMax > 65_507) {
      problems.add("packetBytesMax " + packetBytesMax + " outside 512..65507");
    }
    if (broadcastQueueMax < 16) problems.add("broadcastQueueMax " + broadcastQueueMax + " < 16");
    if (indirectProbesMax < 1) problems.add("indirectProbesMax " + indirectProbesMax + " < 1");
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("bad SwimConfig: " + String.join("; ", problems));
    }
  }

  private static final long HOUR_MS = 3_600_000L;

  /** hashicorp/memberlist DefaultLANConfig, field for field (SuspicionMaxTimeoutMult 6, k = 4 − 2). */
  public static SwimConfig memberlistLan() {
    return new SwimConfig(1000, 500, 3, false, 400, 8, 4, 6, 2, 0, 4, 200, 3, 30_000, 30_000, 30_000,
        24 * HOUR_MS, 24 * HOUR_MS, 1400, 16_384, 1024);
  }

  /**
   * The default for a data centre network. Same probe and gossip rates as memberlist (so comparable
   * bandwidth), but a shorter minimum suspicion timeout guarded by more independent confirmations:
   * see docs/membership.md for the simulation that chose these.
   */
  public static SwimConfig lan() {
    return memberlistLan().toBuilder()
        .indirectChecks(4)
        .retryDirectPing(true)
        .suspicionMult(2)
        .suspicionMaxTimeoutMult(6)
        .suspicionConfirmations(3)
        .suspicionReprobes(4)
        .build();
  }

  /** Wide-area links: memberlist DefaultWANConfig timings with lan()'s suspicion scheme. */
  public static SwimConfig wan() {
    return lan().toBuilder()
        .probeIntervalMs(5000).probeTimeoutMs(3000).nackTimeoutMs(2400)
        .suspicionMult(3)
        .gossipIntervalMs(500).gossipNodes(4)
        .pushPullIntervalMs(60_000)
        .build();
  }

  /** Loopback / one host (tests, --dev): memberlist DefaultLocalConfig timings. */
  public static SwimConfig local() {
    return lan().toBuilder()
        .probeIntervalMs(1000).probeTimeoutMs(200).nackTimeoutMs(160)
        .gossipIntervalMs(100)
        .pushPullIntervalMs(15_000)
        .gossipToTheDeadMs(15_000)
        .build();
  }

  /** The minimum suspicion timeout for n members. */
  public long suspicionMinMs(int n) {
    return Suspicion.minTimeoutMs(suspicionMult, n, probeIntervalMs);
  }

  /** The maximum (starting) suspicion timeout for n members. */
  public long suspicionMaxMs(int n) {
    return (long) Math.floor(suspicionMaxTimeoutMult * suspicionMinMs(n));
  }

  /** Push-pull interval for n members (memberlist util.go pushPullScale, threshold 32). */
  public long pushPullIntervalMs(int n) {
    if (n <= 32) {
      return pushPullIntervalMs;
    }
    double multiplier = Math.ceil(Math.log(n) / Math.log(2) - Math.log(32) / Math.log(2)) + 1.0;
    return (long) (pushPullIntervalMs * multiplier);
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Mutable copy of a config; {@link #build()} validates all fields together. */
  public static final class Builder {
    private long probeIntervalMs;
    private long probeTimeoutMs;
    private int indirectChecks;
    private boolean retryDirectPing;
    private int suspicionReprobes;
    private long nackTimeoutMs;
    private int awarenessMaxMultiplier;
    private double suspicionMult;
    private double suspicionMaxTimeoutMult;
    private int suspicionConfirmations;
    private int retransmitMult;
    private long gossipIntervalMs;
    private int gossipNodes;
    private long gossipToTheDeadMs;
    private long pushPullIntervalMs;
    private long reconnectIntervalMs;
    private long reapFailedAfterMs;
    private long reapLeftAfterMs;
    private int packetBytesMax;
    private int broadcastQueueMax;
    private int indirectProbesMax;

    private Builder(SwimConfig c) {
      probeIntervalMs = c.probeIntervalMs;
      probeTimeoutMs = c.probeTimeoutMs;
      indirectChecks = c.indirectChecks;
      retryDirectPing = c.retryDirectPing;
      suspicionReprobes = c.suspicionReprobes;
      nackTimeoutMs = c.nackTimeoutMs;
      awarenessMaxMultiplier = c.awarenessMaxMultiplier;
      suspicionMult = c.suspicionMult;
      suspicionMaxTimeoutMult = c.suspicionMaxTimeoutMult;
      suspicionConfirmations = c.suspicionConfirmations;
      retransmitMult = c.retransmitMult;
      gossipIntervalMs = c.gossipIntervalMs;
      gossipNodes = c.gossipNodes;
      gossipToTheDeadMs = c.gossipToTheDeadMs;
      pushPullIntervalMs = c.pushPullIntervalMs;
      reconnectIntervalMs = c.reconnectIntervalMs;
      reapFailedAfterMs = c.reapFailedAfterMs;
      reapLeftAfterMs = c.reapLeftAfterMs;
      packetBytesMax = c.packetBytesMax;
      broadcastQueueMax = c.broadcastQueueMax;
      indirectProbesMax = c.indirectProbesMax;
    }

    public Builder probeIntervalMs(long v) { probeIntervalMs = v; return this; }
    public Builder probeTimeoutMs(long v) { probeTimeoutMs = v; return this; }
    public Builder indirectChecks(int v) { indirectChecks = v; return this; }
    public Builder retryDirectPing(boolean v) { retryDirectPing = v; return this; }
    public Builder suspicionReprobes(int v) { suspicionReprobes = v; return this; }
    public Builder nackTimeoutMs(long v) { nackTimeoutMs = v; return this; }
    public Builder awarenessMaxMultiplier(int v) { awarenessMaxMultiplier = v; return this; }
    public Builder suspicionMult(double v) { suspicionMult = v; return this; }
    public Builder suspicionMaxTimeoutMult(double v) { suspicionMaxTimeoutMult = v; return this; }
    public Builder suspicionConfirmations(int v) { suspicionConfirmations = v; return this; }
    public Builder retransmitMult(int v) { retransmitMult = v; return this; }
    public Builder gossipIntervalMs(long v) { gossipIntervalMs = v; return this; }
    public Builder gossipNodes(int v) { gossipNodes = v; return this; }
    public Builder gossipToTheDeadMs(long v) { gossipToTheDeadMs = v; return this; }
    public Builder pushPullIntervalMs(long v) { pushPullIntervalMs = v; return this; }
    public Builder reconnectIntervalMs(long v) { reconnectIntervalMs = v; return this; }
    public Builder reapFailedAfterMs(long v) { reapFailedAfterMs = v; return this; }
    public Builder reapLeftAfterMs(long v) { reapLeftAfterMs = v; return this; }
    public Builder packetBytesMax(int v) { packetBytesMax = v; return this; }
    public Builder broadcastQueueMax(int v) { broadcastQueueMax = v; return this; }
    public Builder indirectProbesMax(int v) { indirectProbesMax = v; return this; }

    public SwimConfig build() {
      return new SwimConfig(probeIntervalMs, probeTimeoutMs, indirectChecks, retryDirectPing,
          nackTimeoutMs, awarenessMaxMultiplier, suspicionMult, suspicionMaxTimeoutMult,
          suspicionConfirmations, suspicionReprobes,
          retransmitMult, gossipIntervalMs, gossipNodes, gossipToTheDeadMs, pushPullIntervalMs,
          reconnectIntervalMs, reapFailedAfterMs, reapLeftAfterMs, packetBytesMax,
          broadcastQueueMax, indirectProbesMax);
    }
  }
}
