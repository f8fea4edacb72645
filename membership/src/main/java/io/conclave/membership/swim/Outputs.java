package io.conclave.membership.swim;

import io.conclave.membership.member.Address;
import java.util.List;

/**
 * What one call into {@link SwimNode} asks the runtime to do, in order: send the packets (UDP), open
 * the push-pull streams (TCP: send {@code payload}, feed the reply to
 * {@link SwimNode#stepStreamReply}), and hand the events to the daemon.
 */
public record Outputs(List<Packet> packets, List<StreamRequest> streams, List<MemberEvent> events) {
  public static final Outputs NONE = new Outputs(List.of(), List.of(), List.of());

  public Outputs {
    packets = List.copyOf(packets);
    streams = List.copyOf(streams);
    events = List.copyOf(events);
  }

  public boolean isEmpty() {
    return packets.isEmpty() && streams.isEmpty() && events.isEmpty();
  }

  /** A UDP datagram of at most the configured packet size. */
  public record Packet(Address to, byte[] bytes) {}

  /**
   * A push-pull exchange to run over a stream: connect to {@code to}, send {@code payload} (framed by the
   * transport), read one reply frame and pass it to {@link SwimNode#stepStreamReply}, or call
   * {@link SwimNode#streamFailed} on error or timeout. {@code join} marks the exchanges of a join.
   */
  public record StreamRequest(Address to, byte[] payload, boolean join) {}

  /** What {@link SwimNode#stepStream} gives: the reply to write back (null: close without one). */
  public record StreamReply(byte[] reply, Outputs outputs) {}
}
