package io.conclave.daemon.kv;

import java.util.Arrays;
import java.util.Objects;

/**
 * One key of the store, as Consul's {@code DirEntry} without sessions. {@code value} is never null
 * in the store (an empty value is a zero-length array); in transaction results it is null where
 * Consul blanks it (every verb except get and get-tree). Flags are Consul's uint64, kept in a long
 * and printed unsigned.
 *
 * <p>invariant (stored entries): 0 < createIndex <= modifyIndex.
 */
public record KvEntry(String key, byte[] value, long flags, long createIndex, long modifyIndex, long lockIndex) {
  public KvEntry {
    Objects.requireNonNull(key, "key");
  }

  /** The same entry without its value (Consul's transaction results for write verbs). */
  public KvEntry withoutValue() {
    return new KvEntry(key, null, flags, createIndex, modifyIndex, lockIndex);
  }

  /** Consul's {@code DirEntry.Equal} for the identical-write rule: key, flags and value bytes. */
  boolean sameContent(byte[] otherValue, long otherFlags) {
    return flags == otherFlags && Arrays.equals(value == null ? new byte[0] : value, otherValue == null ? new byte[0] : otherValue);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KvEntry e && key.equals(e.key) && Arrays.equals(value, e.value) && flags == e.flags
        && createIndex == e.createIndex && modifyIndex == e.modifyIndex && lockIndex == e.lockIndex;
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, Arrays.hashCode(value), flags, createIndex, modifyIndex, lockIndex);
  }

  @Override
  public String toString() {
    return "KvEntry[key=" + key + ", value=" + (value == null ? "null" : value.length + " bytes") + ", flags="
        + Long.toUnsignedString(flags) + ", create=" + createIndex + ", modify=" + modifyIndex + ", lock=" + lockIndex + "]";
  }
}
