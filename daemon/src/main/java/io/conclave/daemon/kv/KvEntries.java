package io.conclave.daemon.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The live entries of {@link KvStateMachine}: key order for prefix scans and snapshots, and a hash
 * index for the point operations every write and read makes. Both maps share one mutable slot per
 * key, so overwriting a key (the common write) is a hash lookup and never walks the tree; only a new
 * key and a delete touch it. (On a loaded leader two tree walks per write, each a chain of cache
 * misses through a thousand keys, were a third of the Raft thread's Java time.)
 *
 * <p>Not thread-safe: {@link KvStateMachine} holds its lock around every call. Iteration is always
 * in key order, so nothing observable depends on the hash map.
 */
final class KvEntries {
  private static final class Slot {
    KvEntry entry;

    Slot(KvEntry entry) {
      this.entry = entry;
    }
  }

  private final HashMap<String, Slot> byKey = new HashMap<>();
  private final TreeMap<String, Slot> ordered = new TreeMap<>();
  private long bytes;

  /** What one key costs the heap beyond its chars and value: entry, slot, two map nodes, the string. */
  static final long ENTRY_OVERHEAD_BYTES = 128;

  /** What an entry counts towards {@link #bytes()}: its key's chars, its value's bytes, the overhead. */
  static long sizeOf(String key, byte[] value) {
    return key.length() + (long) value.length + ENTRY_OVERHEAD_BYTES;
  }

  private static long sizeOf(KvEntry e) {
    return sizeOf(e.key(), e.value());
  }

  /** {@link #sizeOf} summed over every entry: what the store's quota bounds. */
  long bytes() {
    return bytes;
  }

  KvEntry get(String key) {
    Slot s = byKey.get(key);
    return s == null ? null : s.entry;
  }

  /** Sets {@code key}'s entry ({@code e.key()} must equal it). */
  void put(String key, KvEntry e) {
    Slot s = byKey.get(key);
    if (s != null) {
      bytes += sizeOf(e) - sizeOf(s.entry);
      s.entry = e;
      return;
    }
    bytes += sizeOf(e);
    s = new Slot(e);
    byKey.put(key, s);
    ordered.put(key, s);
  }

  /** Removes {@code key}; its entry, or null when it had none. */
  KvEntry remove(String key) {
    Slot s = byKey.remove(key);
    if (s == null) {
      return null;
    }
    ordered.remove(key);
    bytes -= sizeOf(s.entry);
    return s.entry;
  }

  /** Every entry whose key starts with {@code prefix}, in key order. */
  List<KvEntry> withPrefix(String prefix) {
    List<KvEntry> list = new ArrayList<>();
    for (Map.Entry<String, Slot> e : ordered.tailMap(prefix, true).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      list.add(e.getValue().entry);
    }
    return list;
  }

  /** Removes every entry whose key starts with {@code prefix}; them, in key order. */
  List<KvEntry> removePrefix(String prefix) {
    List<KvEntry> removed = new ArrayList<>();
    Iterator<Map.Entry<String, Slot>> it = ordered.tailMap(prefix, true).entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Slot> e = it.next();
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      removed.add(e.getValue().entry);
      bytes -= sizeOf(e.getValue().entry);
      byKey.remove(e.getKey());
      it.remove();
    }
    return removed;
  }

  /** A copy of every entry in key order (entries are immutable; the list is detached). */
  List<KvEntry> inOrder() {
    List<KvEntry> all = new ArrayList<>(ordered.size());
    for (Slot s : ordered.values()) {
      all.add(s.entry);
    }
    return all;
  }

  int size() {
    return byKey.size();
  }
}
