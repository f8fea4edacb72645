package io.conclave.daemon.kv;

import java.util.Set;

/**
 * What one applied command changed, for waking blocking queries: single keys set or deleted,
 * prefixes deleted as a tree, or {@code all} after a snapshot restore (every watcher re-reads).
 */
public record KvChange(long index, Set<String> keys, Set<String> prefixes, boolean all) {
  public KvChange {
    keys = Set.copyOf(keys);
    prefixes = Set.copyOf(prefixes);
  }

  static KvChange everything(long index) {
    return new KvChange(index, Set.of(), Set.of(), true);
  }
}
