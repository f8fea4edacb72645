package io.conclave.daemon.raft;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How the daemon turns wall time into the Raft core's ticks, and how long client requests wait.
 *
 * <p>Failover after a leader dies takes the followers' randomized election timeout, uniform in
 * {@code [electionTimeoutTicks, 2 × electionTimeoutTicks)} ticks after the last heartbeat they got,
 * plus one pre-vote and one vote round trip with an fsync each (about 1 ms each on loopback and a
 * quiet disk), plus the new leader's no-op commit. With {@link #lan()} (10 ms ticks, election
 * timeout 10 ticks) that is 100–200 ms of detection, mean 150 ms, so a kill -9 of the leader gives a
 * new leader accepting writes in about 150–250 ms: the goal is a median under 300 ms and
 * every trial under 1 s.
 *
 * @param tickMs wall time per tick, ms; default 10. Lower reacts faster but wakes the event loop
 *     more often; a tick shorter than a GC pause or fsync hiccup mostly adds noise.
 * @param electionTimeoutTicks base election timeout in ticks; default 10 (100 ms). Also the
 *     check-quorum period of a leader. Raising it slows failover; lowering it toward the heartbeat
 *     interval risks needless elections when a server is briefly busy (GC, a slow fsync, a loaded
 *     shared CPU).
 * @param heartbeatTicks ticks between a leader's heartbeats; default 2 (20 ms): five per election
 *     timeout, so two lost heartbeats in a row do not trigger an election.
 * @param proposalTimeout how long {@link RaftRuntime#propose} waits for its entry to be applied
 *     before it fails with TIMEOUT (the entry may still commit later); default 5 s
 * @param readTimeout how long {@link RaftRuntime#readBarrier} waits; default 5 s
 */
public record RaftTiming(long tickMs, int electionTimeoutTicks, int heartbeatTicks,
    Duration proposalTimeout, Duration readTimeout) {

  public RaftTiming {
    List<String> problems = new ArrayList<>();
    if (tickMs < 1) problems.add("tickMs " + tickMs + " < 1");
    if (electionTimeoutTicks < 2) problems.add("electionTimeoutTicks " + electionTimeoutTicks + " < 2");
    if (heartbeatTicks < 1 || heartbeatTicks >= electionTimeoutTicks) {
      problems.add("heartbeatTicks " + heartbeatTicks + " outside [1, electionTimeoutTicks)");
    }
    if (proposalTimeout.isNegative() || proposalTimeout.isZero()) problems.add("proposalTimeout " + proposalTimeout);
    if (readTimeout.isNegative() || readTimeout.isZero()) problems.add("readTimeout " + readTimeout);
    if (!problems.isEmpty()) throw new IllegalArgumentException("bad raft timing: " + String.join("; ", problems));
  }

  /** A LAN or one host: fast failover (see the class comment). */
  public static RaftTiming lan() {
    return new RaftTiming(10, 10, 2, Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  /** Across data centres: 50 ms ticks, election timeout 1–2 s, heartbeat every 200 ms. */
  public static RaftTiming wan() {
    return new RaftTiming(50, 20, 4, Duration.ofSeconds(10), Duration.ofSeconds(10));
  }

  /** The election timeout's lower bound in wall time. */
  public Duration electionTimeout() {
    return Duration.ofMillis(tickMs * electionTimeoutTicks);
  }
}
