package io.conclave.daemon.kv.lincheck;

import java.util.Objects;

/**
 * One client operation on one key of a history: what was asked, what was answered, and when (any
 * monotonic clock, e.g. nanoTime). An operation whose answer never came (timeout, lost connection)
 * has {@code known = false} and {@code returnTime = Long.MAX_VALUE}: it may have taken effect at any
 * point after its invocation, or never.
 *
 * <ul>
 *   <li>READ: {@code output} is the value read ({@code null} = absent);
 *   <li>WRITE: sets {@code value} ({@code null} = delete);
 *   <li>CAS: sets {@code value} if the current value equals {@code expected}; {@code ok} is the answer.
 * </ul>
 */
public record Operation(int client, String key, Kind kind, String expected, String value, String output, boolean ok,
    boolean known, long callTime, long returnTime) {
  public enum Kind { READ, WRITE, CAS }

  public Operation {
    Objects.requireNonNull(key);
    Objects.requireNonNull(kind);
    if (returnTime < callTime) {
      throw new IllegalArgumentException("returns before it is called: " + callTime + " > " + returnTime);
    }
  }

  public static Operation read(int client, String key, String output, long call, long ret) {
    return new Operation(client, key, Kind.READ, null, null, output, true, true, call, ret);
  }

  public static Operation write(int client, String key, String value, long call, long ret) {
    return new Operation(client, key, Kind.WRITE, null, value, null, true, true, call, ret);
  }

  public static Operation cas(int client, String key, String expected, String value, boolean ok, long call, long ret) {
    return new Operation(client, key, Kind.CAS, expected, value, null, ok, true, call, ret);
  }

  /** The same operation with its answer lost: it may or may not have taken effect. */
  public Operation unknown() {
    return new Operation(client, key, kind, expected, value, null, false, false, callTime, Long.MAX_VALUE);
  }

  @Override
  public String toString() {
    String what;
    switch (kind) {
      case READ:
        what = "read()" + (known ? "=" + output : "=?");
        break;
      case WRITE:
        what = "write(" + value + ")" + (known ? "" : "?");
        break;
      default:
        what = "cas(" + expected + "->" + value + ")" + (known ? "=" + ok : "=?");
    }
    return "c" + client + " " + key + " " + what + " [" + callTime + "," + (returnTime == Long.MAX_VALUE ? "inf" : returnTime) + "]";
  }
}
