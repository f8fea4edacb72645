package io.conclave.membership.swim;

import io.conclave.membership.wire.DropReason;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Monotonic counters the daemon exports (Micrometer names in parentheses, e.g. {@code swim.probe}).
 * Mutated only by the owning {@link SwimNode}, on its single thread.
 */
public final class SwimCounters {
  long probes; // swim.probe: probe rounds started
  long probesFailed; // swim.probe.failed: rounds that ended without any ack
  long indirectProbes; // swim.probe.indirect: rounds that needed ping-req helpers
  long reprobes; // swim.probe.reprobe: out-of-turn probes of a member we just heard suspected
  long nacksReceived; // swim.nack.received
  long nacksSent; // swim.nack.sent
  long suspicionsRaised; // swim.suspect.raised: members this node suspected itself
  long suspicionsHeard; // swim.suspect.heard: alive members turned suspect by a rumor
  long refutations; // swim.refute: suspicions/deaths about this node that it refuted
  long failuresDeclared; // swim.failed.declared: suspicion timeouts that fired here
  long failuresLearned; // swim.failed: members marked failed (declared here or heard)
  long aliveAgain; // swim.alive_again: failed members that came back (false-positive signal)
  long suspectRefuted; // swim.suspect.refuted: suspected members that proved alive
  long packetsSent; // swim.packets.sent
  long bytesSent; // swim.bytes.sent (UDP payload bytes)
  long packetsReceived; // swim.packets.received
  long bytesReceived; // swim.bytes.received
  long streamsSent; // swim.pushpull.sent
  long streamBytesSent; // swim.pushpull.bytes.sent (requests and replies)
  long streamsFailed; // swim.pushpull.failed
  long broadcastsDropped; // swim.broadcast.dropped: queue overflow
  final EnumMap<DropReason, Long> drops = new EnumMap<>(DropReason.class); // swim.drop{reason}

  void drop(DropReason reason) {
    drops.merge(reason, 1L, Long::sum);
  }

  public long probes() {
    return probes;
  }

  public long probesFailed() {
    return probesFailed;
  }

  public long suspicionsRaised() {
    return suspicionsRaised;
  }

  public long refutations() {
    return refutations;
  }

  public long failuresDeclared() {
    return failuresDeclared;
  }

  public long aliveAgain() {
    return aliveAgain;
  }

  public long bytesSent() {
    return bytesSent + streamBytesSent;
  }

  public long packetsSent() {
    return packetsSent;
  }

  public long drops(DropReason reason) {
    return drops.getOrDefault(reason, 0L);
  }

  public long dropsTotal() {
    return drops.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Every counter by its exported name; drops as {@code swim.drop.<reason>}. */
  public Map<String, Long> asMap() {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("swim.probe", probes);
    m.put("swim.probe.failed", probesFailed);
    m.put("swim.probe.indirect", indirectProbes);
    m.put("swim.probe.reprobe", reprobes);
    m.put("swim.nack.received", nacksReceived);
    m.put("swim.nack.sent", nacksSent);
    m.put("swim.suspect.raised", suspicionsRaised);
    m.put("swim.suspect.heard", suspicionsHeard);
    m.put("swim.suspect.refuted", suspectRefuted);
    m.put("swim.refute", refutations);
    m.put("swim.failed.declared", failuresDeclared);
    m.put("swim.failed", failuresLearned);
    m.put("swim.alive_again", aliveAgain);
    m.put("swim.packets.sent", packetsSent);
    m.put("swim.bytes.sent", bytesSent);
    m.put("swim.packets.received", packetsReceived);
    m.put("swim.bytes.received", bytesReceived);
    m.put("swim.pushpull.sent", streamsSent);
    m.put("swim.pushpull.bytes.sent", streamBytesSent);
    m.put("swim.pushpull.failed", streamsFailed);
    m.put("swim.broadcast.dropped", broadcastsDropped);
    for (DropReason r : DropReason.values()) {
      m.put("swim.drop." + r.name().toLowerCase(java.util.Locale.ROOT), drops(r));
    }
    return m;
  }
}
