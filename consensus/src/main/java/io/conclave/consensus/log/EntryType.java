package io.conclave.consensus.log;

/** What an entry carries. The byte codes are part of the durable log format: never renumber. */
public enum EntryType {
  /** An application command: opaque bytes handed to the state machine once committed. */
  COMMAND(1),
  /** The empty entry a new leader appends at the start of its term (Raft §5.4.2, §8). */
  NOOP(2),
  /** A cluster configuration (voters and learners); takes effect when appended (dissertation §4.1). */
  CONFIG(3);

  private final int code;

  EntryType(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The type for a stored code, or null when the code is unknown (corrupt or newer format). */
  public static EntryType fromCode(int code) {
    return switch (code) {
      case 1 -> COMMAND;
      case 2 -> NOOP;
      case 3 -> CONFIG;
      default -> null;
    };
  }
}
