package io.conclave.daemon.kv;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One KV operation of a transaction, as Consul's {@code {"KV":{"Verb","Key","Value","Flags","Index"}}}.
 * {@code index} is the ModifyIndex for cas, check-index and delete-cas. {@code value} may be null
 * (Consul's nil value) and is then stored as empty.
 */
public record TxnOp(Verb verb, String key, byte[] value, long flags, long index) {
  public TxnOp {
    Objects.requireNonNull(verb, "verb");
    Objects.requireNonNull(key, "key");
  }

  /** Consul's KV verbs that conclave implements (no sessions, so no lock, unlock, check-session). */
  public enum Verb {
    SET("set", true), CAS("cas", true), GET("get", false), GET_TREE("get-tree", false),
    CHECK_INDEX("check-index", false), CHECK_NOT_EXISTS("check-not-exists", false),
    DELETE("delete", true), DELETE_TREE("delete-tree", true), DELETE_CAS("delete-cas", true);

    private final String wire;
    private final boolean write;

    Verb(String wire, boolean write) {
      this.wire = wire;
      this.write = write;
    }

    public String wireName() {
      return wire;
    }

    /** Whether the verb changes the store (a transaction of reads only is served without the log). */
    public boolean isWrite() {
      return write;
    }

    /** The verb for Consul's spelling, case-insensitive as Consul's. */
    public static Optional<Verb> parse(String name) {
      String lower = name == null ? "" : name.toLowerCase(Locale.ROOT);
      for (Verb v : values()) {
        if (v.wire.equals(lower)) {
          return Optional.of(v);
        }
      }
      return Optional.empty();
    }
  }

  public static TxnOp set(String key, byte[] value, long flags) {
    return new TxnOp(Verb.SET, key, value, flags, 0);
  }

  public static TxnOp cas(String key, byte[] value, long flags, long index) {
    return new TxnOp(Verb.CAS, key, value, flags, index);
  }

  public static TxnOp of(Verb verb, String key) {
    return new TxnOp(verb, key, null, 0, 0);
  }

  public static TxnOp withIndex(Verb verb, String key, long index) {
    return new TxnOp(verb, key, null, 0, index);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TxnOp t && verb == t.verb && key.equals(t.key) && java.util.Arrays.equals(value, t.value)
        && flags == t.flags && index == t.index;
  }

  @Override
  public int hashCode() {
    return Objects.hash(verb, key, java.util.Arrays.hashCode(value), flags, index);
  }
}
