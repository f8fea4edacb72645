package io.conclave.membership.wire;

import io.conclave.membership.member.Address;
import io.conclave.membership.member.Member;
import java.util.List;
import java.util.Map;

/**
 * The SWIM messages, named after the protocol. Probe messages (Ping, Ack, PingReq, Nack) travel in UDP
 * packets; rumors (Alive, Suspect, Dead, Leave) travel piggybacked in the same packets and in gossip
 * packets; PushPull travels only over a stream (TCP). Type codes are part of the wire format: never
 * reuse one.
 */
public sealed interface Message {
  /** Wire type code. */
  int type();

  /**
   * A probe. {@code target} names the member the sender means, so a process that restarted under another
   * name on the same address does not answer for the old one; the Ack goes to {@code replyTo}.
   */
  record Ping(long seq, String target, Address replyTo) implements Message {
    public int type() {
      return 1;
    }
  }

  /** The answer to a Ping with the same {@code seq}; a helper forwards it to the origin of a PingReq. */
  record Ack(long seq) implements Message {
    public int type() {
      return 2;
    }
  }

  /**
   * Asks a helper to ping {@code target} at {@code targetAddress} on behalf of {@code origin}, and to
   * answer the origin with Ack({@code seq}) or, if the target stays silent, Nack({@code seq}).
   */
  record PingReq(long seq, String target, Address targetAddress, Address origin) implements Message {
    public int type() {
      return 3;
    }
  }

  /**
   * Lifeguard: a helper heard nothing from the target in time. It tells the origin that the helper
   * itself is reachable, so a missing Nack points at the origin's own health.
   */
  record Nack(long seq) implements Message {
    public int type() {
      return 4;
    }
  }

  /** {@code from} failed to reach {@code name} at {@code incarnation}. */
  record Suspect(long incarnation, String name, String from) implements Message {
    public int type() {
      return 5;
    }
  }

  /** {@code name} is alive at {@code incarnation}, with this address and these tags. */
  record Alive(long incarnation, String name, Address address, Map<String, String> tags)
      implements Message {
    public Alive {
      tags = Map.copyOf(tags);
    }

    public int type() {
      return 6;
    }
  }

  /** {@code from} declares {@code name} failed at {@code incarnation} (its suspicion timed out). */
  record Dead(long incarnation, String name, String from) implements Message {
    public int type() {
      return 7;
    }
  }

  /** {@code name} leaves the cluster gracefully at {@code incarnation}. */
  record Leave(long incarnation, String name) implements Message {
    public int type() {
      return 8;
    }
  }

  /**
   * Anti-entropy: the full state of {@code from} (itself included). A join is a push-pull with
   * {@code join} set; the receiver answers with its own state and {@code join} clear.
   */
  record PushPull(String from, boolean join, List<Member> members) implements Message {
    public PushPull {
      members = List.copyOf(members);
    }

    public int type() {
      return 9;
    }
  }
}
