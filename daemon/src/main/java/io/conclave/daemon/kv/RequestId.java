package io.conclave.daemon.kv;

import java.util.Objects;

/**
 * Who sent a write and its sequence number, for exactly-once application. {@code agent} names one
 * process lifetime of the daemon that took the client's request (node name plus a boot nonce), so a
 * restarted daemon never reuses a sequence; {@code seq} grows by one per write that daemon proposes.
 * A retry (after a leader change or a lost answer) re-proposes the same bytes, so the same id.
 */
public record RequestId(String agent, long seq) {
  public RequestId {
    Objects.requireNonNull(agent, "agent");
    if (agent.isEmpty() || seq <= 0) {
      throw new IllegalArgumentException("request id needs an agent and seq > 0, got " + agent + "/" + seq);
    }
  }
}
