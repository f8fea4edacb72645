package io.conclave.consensus.log;

import java.util.Arrays;
import java.util.Objects;

/**
 * One Raft log entry. Commands are opaque bytes; the core never looks inside {@link #data()}.
 *
 * <p>The array is not copied: whoever builds an entry hands its ownership to the log and must not
 * change it afterwards.
 */
public record Entry(long index, long term, EntryType type, byte[] data) {
  private static final byte[] EMPTY = new byte[0];

  public Entry {
    Objects.requireNonNull(type, "type");
    if (index < 1) throw new IllegalArgumentException("entry index " + index + " < 1");
    if (term < 1) throw new IllegalArgumentException("entry term " + term + " < 1");
    if (data == null) data = EMPTY;
  }

  public static Entry noop(long index, long term) {
    return new Entry(index, term, EntryType.NOOP, EMPTY);
  }

  public static Entry command(long index, long term, byte[] data) {
    return new Entry(index, term, EntryType.COMMAND, data);
  }

  /** Bytes this entry costs in a message batch: payload plus a fixed header estimate. */
  public long sizeBytes() {
    return data.length + 24L;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Entry e
        && e.index == index
        && e.term == term
        && e.type == type
        && Arrays.equals(e.data, data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(index, term, type) * 31 + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "Entry{" + index + "@" + term + " " + type + " " + data.length + "B}";
  }
}
