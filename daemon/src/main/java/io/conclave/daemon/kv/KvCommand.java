package io.conclave.daemon.kv;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A write to the store, as it travels in a Raft log entry (encoded by {@link KvCodec}). Reads never
 * go through the log: they are served from {@link KvStateMachine} after a read barrier.
 */
public sealed interface KvCommand {
  /** Unconditional write; answers true. Consul's identical-write rule keeps ModifyIndex. */
  record Set(String key, byte[] value, long flags) implements KvCommand {
    public Set {
      Objects.requireNonNull(key);
      Objects.requireNonNull(value);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Set s && key.equals(s.key) && Arrays.equals(value, s.value) && flags == s.flags;
    }

    @Override
    public int hashCode() {
      return Objects.hash(key, Arrays.hashCode(value), flags);
    }
  }

  /** Write only if the key's ModifyIndex is {@code index} (0: only if the key is absent). */
  record Cas(String key, byte[] value, long flags, long index) implements KvCommand {
    public Cas {
      Objects.requireNonNull(key);
      Objects.requireNonNull(value);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Cas s && key.equals(s.key) && Arrays.equals(value, s.value) && flags == s.flags && index == s.index;
    }

    @Override
    public int hashCode() {
      return Objects.hash(key, Arrays.hashCode(value), flags, index);
    }
  }

  /** Delete one key; answers true even when the key is missing. */
  record Delete(String key) implements KvCommand {
    public Delete {
      Objects.requireNonNull(key);
    }
  }

  /** Delete one key only if its ModifyIndex is {@code index}; a missing key answers true (Consul). */
  record DeleteCas(String key, long index) implements KvCommand {
    public DeleteCas {
      Objects.requireNonNull(key);
    }
  }

  /** Delete every key starting with {@code prefix} ("" = everything); answers true. */
  record DeleteTree(String prefix) implements KvCommand {
    public DeleteTree {
      Objects.requireNonNull(prefix);
    }
  }

  /** All or nothing, at most {@link KvCodec#TXN_OPS_MAX} operations. */
  record Txn(List<TxnOp> ops) implements KvCommand {
    public Txn {
      ops = List.copyOf(ops);
    }
  }

  /**
   * Forget tombstones with an index at or below {@code upToIndex}. Issued by the leader from time to
   * time (as Consul's tombstone GC); it goes through the log so every server forgets the same ones.
   */
  record ReapTombstones(long upToIndex) implements KvCommand {}
}
