package io.conclave.daemon.kv;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The replicated KV store: a sorted map key → {@link KvEntry} plus a graveyard of tombstones,
 * changed only by {@link #apply} in Raft log order, with Consul's semantics (state/kvs.go):
 *
 * <ul>
 *   <li>every change sets the store's index to the Raft index of its entry; a command that changes
 *       nothing (an identical write, deleting a missing key, a failed cas) leaves it;
 *   <li>an identical write (same value and flags) keeps ModifyIndex; an update keeps CreateIndex and
 *       LockIndex;
 *   <li>cas 0 writes only if absent; cas N only if ModifyIndex == N; delete-cas of a missing key is
 *       true; a deleted key (or a deleted tree's prefix) leaves a tombstone at the delete's index so
 *       prefix blocking queries advance; tombstones go with a {@link KvCommand.ReapTombstones}.
 * </ul>
 *
 * Deterministic: the state depends only on the sequence of (index, bytes) applied. Thread-safe:
 * apply and restore take a write lock, reads a read lock; listeners run after the lock is released,
 * on the applying thread.
 */
public final class KvStateMachine {
  /** Snapshot format version written by {@link #writeSnapshot}; {@link #restore} reads exactly this one. */
  public static final int SNAPSHOT_VERSION = 1;
  private static final int SNAPSHOT_MAGIC = 0x434B5653; // "CKVS"
  private static final int SNAPSHOT_END = 0x454E4421;   // "END!"

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final List<Consumer<KvChange>> listeners = new CopyOnWriteArrayList<>();
  private final int dedupeAgentsMax;
  private final int dedupeWindowMax;
  private final int tombstonesMax;

  /**
   * Tombstones kept at most (default 100,000, about 100 bytes each). Beyond it the oldest tenth (by
   * delete index) is dropped in the same apply, deterministically, so memory stays bounded even if
   * no {@link KvCommand.ReapTombstones} is ever issued. The cost: a prefix's index may go back to
   * an older value after its tombstone is dropped (clients reset, as after Consul's reaping).
   */
  public static final int TOMBSTONES_MAX_DEFAULT = 100_000;
  /**
   * The store's quota: keys' chars, values' bytes and {@link KvEntries#ENTRY_OVERHEAD_BYTES} per key,
   * 32 MiB. A write that would take the store past it (and grow it) is refused, not applied; deletes
   * and writes that shrink always apply. Without it a store grown past a server's heap killed every
   * server with OutOfMemoryError, and again on each restart, replaying the same log; with 64 MiB a
   * {@code --dev} server on its 256 MB heap still died taking a snapshot (which holds the serialized
   * store in memory, twice while it is written).
   * Part of the replicated state's rules: every server of a group must use the same quota.
   */
  public static final long STORE_BYTES_MAX_DEFAULT = 32L << 20;

  private final long storeBytesMax;
  private KvEntries entries = new KvEntries();
  private TreeMap<String, Long> tombstones = new TreeMap<>();
  private DedupeTable dedupe;
  // invariant: every modifyIndex and tombstone index <= index <= lastApplied
  private long index;
  private long lastApplied;

  public KvStateMachine() {
    this(DedupeTable.AGENTS_MAX_DEFAULT, DedupeTable.WINDOW_MAX_DEFAULT, TOMBSTONES_MAX_DEFAULT);
  }

  public KvStateMachine(int dedupeAgentsMax, int dedupeWindowMax) {
    this(dedupeAgentsMax, dedupeWindowMax, TOMBSTONES_MAX_DEFAULT);
  }

  /** Every server of a group must use the same bounds, or their states diverge. */
  public KvStateMachine(int dedupeAgentsMax, int dedupeWindowMax, int tombstonesMax) {
    this(dedupeAgentsMax, dedupeWindowMax, tombstonesMax, STORE_BYTES_MAX_DEFAULT);
  }

  /** Every server of a group must use the same bounds, or their states diverge. */
  public KvStateMachine(int dedupeAgentsMax, int dedupeWindowMax, int tombstonesMax, long storeBytesMax) {
    if (storeBytesMax < 1) {
      throw new IllegalArgumentException("storeBytesMax must be >= 1, got " + storeBytesMax);
    }
    this.storeBytesMax = storeBytesMax;
    if (tombstonesMax < 10) {
      throw new IllegalArgumentException("tombstonesMax must be >= 10, got " + tombstonesMax);
    }
    this.tombstonesMax = tombstonesMax;
    this.dedupeAgentsMax = dedupeAgentsMax;
    this.dedupeWindowMax = dedupeWindowMax;
    this.dedupe = new DedupeTable(dedupeAgentsMax, dedupeWindowMax);
  }

  /** Called after every change (and restore), on the applying thread, outside the lock. */
  public void addListener(Consumer<KvChange> listener) {
    listeners.add(listener);
  }

  // ------------------------------------------------------------------ apply

  /**
   * Applies one log entry. {@code raftIndex} must exceed every index applied before (entries of
   * other kinds may be skipped). Bad bytes give a {@link KvResult.Rejected} and change nothing.
   */
  public KvResult apply(long raftIndex, byte[] command) {
    KvRequest request;
    try {
      request = KvCodec.decode(command);
    } catch (KvCodecException e) {
      lock.writeLock().lock();
      try {
        advance(raftIndex);
        return new KvResult.Rejected("malformed command: " + e.getMessage(), index);
      } finally {
        lock.writeLock().unlock();
      }
    }
    return applyRequest(raftIndex, request);
  }

  /** As {@link #apply(long, byte[])} for a decoded request (the in-memory backend, tests). */
  public KvResult applyRequest(long raftIndex, KvRequest request) {
    KvResult result;
    Mutation m;
    lock.writeLock().lock();
    try {
      advance(raftIndex);
      if (request.id().isPresent()) {
        Optional<KvResult> stored = dedupe.lookup(request.id().get(), index);
        if (stored.isPresent()) {
          return stored.get();
        }
      }
      m = new Mutation(raftIndex, request.command() instanceof KvCommand.Txn);
      result = execute(request.command(), m);
      if (m.changed) {
        index = raftIndex;
        maybeDropOldTombstones();
      }
      if (request.id().isPresent()) {
        dedupe.record(request.id().get(), result);
      }
    } finally {
      lock.writeLock().unlock();
    }
    if (m.changed) {
      notifyListeners(new KvChange(raftIndex, m.keys, m.prefixes, false));
    }
    return result;
  }

  private void advance(long raftIndex) {
    if (raftIndex <= lastApplied) {
      throw new IllegalStateException(String.format("apply index %d <= last applied %d (log replayed twice?)", raftIndex, lastApplied));
    }
    lastApplied = raftIndex;
  }

  private KvResult execute(KvCommand command, Mutation m) {
    if (command instanceof KvCommand.Set c) {
      if (overQuota(c.key(), c.value())) {
        return storeFull();
      }
      m.set(c.key(), c.value(), c.flags());
      return new KvResult.Bool(true, m.indexAfter());
    } else if (command instanceof KvCommand.Cas c) {
      boolean ok = casAllows(c.key(), c.index());
      if (ok && overQuota(c.key(), c.value())) {
        return storeFull();
      }
      if (ok) {
        m.set(c.key(), c.value(), c.flags());
      }
      return new KvResult.Bool(ok, m.indexAfter());
    } else if (command instanceof KvCommand.Delete c) {
      m.delete(c.key());
      return new KvResult.Bool(true, m.indexAfter());
    } else if (command instanceof KvCommand.DeleteCas c) {
      return new KvResult.Bool(m.deleteCas(c.key(), c.index()), m.indexAfter());
    } else if (command instanceof KvCommand.DeleteTree c) {
      m.deleteTree(c.prefix());
      return new KvResult.Bool(true, m.indexAfter());
    } else if (command instanceof KvCommand.Txn c) {
      return runTxn(c.ops(), m);
    } else if (command instanceof KvCommand.ReapTombstones c) {
      tombstones.values().removeIf(i -> i <= c.upToIndex());
      return new KvResult.Bool(true, index);
    }
    throw new IllegalStateException("unknown command " + command);
  }

  /** Would setting {@code key} to {@code value} take the store past its quota, and grow it? */
  private boolean overQuota(String key, byte[] value) {
    KvEntry old = entries.get(key);
    long after = entries.bytes() - (old == null ? 0 : KvEntries.sizeOf(old.key(), old.value()))
        + KvEntries.sizeOf(key, value);
    return after > storeBytesMax && after > entries.bytes();
  }

  private String storeFullReason() {
    return "the KV store is full: " + storeBytesMax + " bytes of keys and values at most; delete keys to make room";
  }

  private KvResult storeFull() {
    return new KvResult.Rejected(storeFullReason(), index);
  }

  private void maybeDropOldTombstones() {
    if (tombstones.size() <= tombstonesMax) {
      return;
    }
    long[] indexes = tombstones.values().stream().mapToLong(Long::longValue).sorted().toArray();
    long cutoff = indexes[Math.max(0, tombstonesMax / 10 - 1) + (indexes.length - tombstonesMax)];
    tombstones.values().removeIf(i -> i <= cutoff);
  }

  /** Consul's kvsSetCASTxn: 0 = only if absent; N = only if present with ModifyIndex N. */
  private boolean casAllows(String key, long casIndex) {
    KvEntry existing = entries.get(key);
    if (casIndex == 0) {
      return existing == null;
    }
    return existing != null && existing.modifyIndex() == casIndex;
  }

  /**
   * Runs a transaction: every operation in order against the state the earlier ones left, all
   * errors collected (as Consul), and everything undone if there is one. {@code m} is null for a
   * read-only transaction served outside the log.
   */
  private KvResult.Txn runTxn(List<TxnOp> ops, Mutation m) {
    List<KvEntry> results = new ArrayList<>();
    List<KvResult.TxnError> errors = new ArrayList<>();
    long bytesBefore = entries.bytes();
    for (int i = 0; i < ops.size(); i++) {
      TxnOp op = ops.get(i);
      if (op.verb().isWrite() && m == null) {
        throw new IllegalStateException("write verb " + op.verb() + " in a read-only transaction");
      }
      String error = runTxnOp(op, m, results);
      if (error != null) {
        errors.add(new KvResult.TxnError(i, error));
      }
    }
    if (errors.isEmpty() && entries.bytes() > storeBytesMax && entries.bytes() > bytesBefore) {
      errors.add(new KvResult.TxnError(ops.size() - 1, storeFullReason()));
    }
    if (!errors.isEmpty()) {
      if (m != null) {
        m.rollback();
      }
      return new KvResult.Txn(List.of(), errors, index);
    }
    return new KvResult.Txn(results, List.of(), m == null ? index : m.indexAfter());
  }

  /** One operation; returns Consul's error text, or null. */
  private String runTxnOp(TxnOp op, Mutation m, List<KvEntry> results) {
    String key = op.key();
    KvEntry existing = entries.get(key);
    switch (op.verb()) {
      case SET:
        results.add(m.set(key, valueOf(op), op.flags()).withoutValue());
        return null;
      case CAS:
        if (!casAllows(key, op.index())) {
          return "failed to set key " + quote(key) + ", index is stale";
        }
        results.add(m.set(key, valueOf(op), op.flags()).withoutValue());
        return null;
      case GET:
        if (existing == null) {
          return "key " + quote(key) + " doesn't exist";
        }
        results.add(existing);
        return null;
      case GET_TREE:
        results.addAll(listLocked(key));
        return null;
      case CHECK_INDEX:
        if (existing == null) {
          return "key " + quote(key) + " does not exist";
        }
        if (existing.modifyIndex() != op.index()) {
          return "current modify index " + existing.modifyIndex() + " != " + op.index();
        }
        results.add(existing.withoutValue());
        return null;
      case CHECK_NOT_EXISTS:
        return existing == null ? null : "key " + quote(key) + " exists";
      case DELETE:
        m.delete(key);
        return null;
      case DELETE_TREE:
        m.deleteTree(key);
        return null;
      case DELETE_CAS:
        return m.deleteCas(key, op.index()) ? null : "failed to delete key " + quote(key) + ", index is stale";
      default:
        return "unknown KV verb " + quote(op.verb().wireName());
    }
  }

  private static byte[] valueOf(TxnOp op) {
    return op.value() == null ? new byte[0] : op.value();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /**
   * The changes of one command, with an undo log for a transaction that fails. Built for every
   * applied write, so it stays small for the common case: no undo log outside a transaction, and the
   * changed keys as an immutable set of one until a second key comes.
   */
  private final class Mutation {
    final long raftIndex;
    // null outside a transaction: nothing else rolls back
    final Deque<Runnable> undo;
    Set<String> keys = Set.of();
    Set<String> prefixes = Set.of();
    boolean changed;

    Mutation(long raftIndex, boolean undoable) {
      this.raftIndex = raftIndex;
      this.undo = undoable ? new ArrayDeque<>() : null;
    }

    private void pushUndo(Runnable r) {
      if (undo != null) {
        undo.push(r);
      }
    }

    private static Set<String> with(Set<String> set, String s) {
      if (set.isEmpty()) {
        return Set.of(s);
      }
      if (set.contains(s)) {
        return set;
      }
      Set<String> grown = set instanceof HashSet<String> h ? h : new HashSet<>(set);
      grown.add(s);
      return grown;
    }

    long indexAfter() {
      return changed ? raftIndex : index;
    }

    KvEntry set(String key, byte[] value, long flags) {
      KvEntry old = entries.get(key);
      if (old != null && old.sameContent(value, flags)) {
        return old;
      }
      KvEntry e = old == null
          ? new KvEntry(key, value, flags, raftIndex, raftIndex, 0)
          : new KvEntry(key, value, flags, old.createIndex(), raftIndex, old.lockIndex());
      entries.put(key, e);
      if (undo != null) {
        undo.push(() -> restoreEntry(key, old));
      }
      keys = with(keys, key);
      changed = true;
      return e;
    }

    void delete(String key) {
      KvEntry old = entries.remove(key);
      if (old == null) {
        return;
      }
      Long oldTombstone = tombstones.put(key, raftIndex);
      pushUndo(() -> {
        restoreEntry(key, old);
        restoreTombstone(key, oldTombstone);
      });
      keys = with(keys, key);
      changed = true;
    }

    /** Consul's kvsDeleteCASTxn: a missing key is true; a mismatching index false. */
    boolean deleteCas(String key, long casIndex) {
      KvEntry existing = entries.get(key);
      if (existing == null) {
        return true;
      }
      if (existing.modifyIndex() != casIndex) {
        return false;
      }
      delete(key);
      return true;
    }

    /** One tombstone for the prefix (none for ""), as Consul's kvsDeleteTreeTxn. */
    void deleteTree(String prefix) {
      List<KvEntry> removed = entries.removePrefix(prefix);
      if (removed.isEmpty()) {
        return;
      }
      Long oldTombstone = prefix.isEmpty() ? null : tombstones.put(prefix, raftIndex);
      boolean tombstoned = !prefix.isEmpty();
      pushUndo(() -> {
        for (KvEntry e : removed) {
          entries.put(e.key(), e);
        }
        if (tombstoned) {
          restoreTombstone(prefix, oldTombstone);
        }
      });
      prefixes = with(prefixes, prefix);
      changed = true;
    }

    void rollback() {
      while (!undo.isEmpty()) {
        undo.pop().run();
      }
      keys = Set.of();
      prefixes = Set.of();
      changed = false;
    }
  }

  private void restoreEntry(String key, KvEntry old) {
    if (old == null) {
      entries.remove(key);
    } else {
      entries.put(key, old);
    }
  }

  private void restoreTombstone(String key, Long old) {
    if (old == null) {
      tombstones.remove(key);
    } else {
      tombstones.put(key, old);
    }
  }

  private void notifyListeners(KvChange change) {
    for (Consumer<KvChange> l : listeners) {
      l.accept(change);
    }
  }

  // ------------------------------------------------------------------ reads

  /** A single key and the X-Consul-Index of its reply. */
  public record KeyRead(Optional<KvEntry> entry, long index) {}

  /** A prefix listing and its X-Consul-Index. */
  public record ListRead(List<KvEntry> entries, long index) {}

  /** A key-name listing and its X-Consul-Index. */
  public record KeysRead(List<String> keys, long index) {}

  /**
   * Index rule of Consul's KVS.Get: the entry's ModifyIndex, or the store's index when absent; never 0.
   */
  public KeyRead get(String key) {
    lock.readLock().lock();
    try {
      KvEntry e = entries.get(key);
      return new KeyRead(Optional.ofNullable(e), atLeastOne(e != null ? e.modifyIndex() : index));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Every entry under {@code prefix}, with {@link #prefixIndex}. */
  public ListRead list(String prefix) {
    lock.readLock().lock();
    try {
      List<KvEntry> list = listLocked(prefix);
      return new ListRead(list, prefixIndexLocked(prefix, list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Key names under {@code prefix}; with a non-empty separator, names are cut after the first
   * separator past the prefix and repeated names collapsed (Consul's kvsListKeysTxn).
   */
  public KeysRead keys(String prefix, String separator) {
    lock.readLock().lock();
    try {
      List<KvEntry> list = listLocked(prefix);
      List<String> names = new ArrayList<>();
      String last = null;
      for (KvEntry e : list) {
        String name = e.key();
        if (!separator.isEmpty()) {
          int at = name.indexOf(separator, prefix.length());
          if (at >= 0) {
            name = name.substring(0, at + separator.length());
          }
        }
        if (!name.equals(last)) {
          names.add(name);
          last = name;
        }
      }
      return new KeysRead(names, prefixIndexLocked(prefix, list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Consul's kvsListTxn index: max ModifyIndex and tombstone under a non-empty prefix, else the store's. */
  public long prefixIndex(String prefix) {
    lock.readLock().lock();
    try {
      return prefixIndexLocked(prefix, listLocked(prefix));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The store's index: the Raft index of the last change (never 0 in replies). */
  public long index() {
    lock.readLock().lock();
    try {
      return index;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The highest Raft index applied (changed anything or not). */
  public long lastApplied() {
    lock.readLock().lock();
    try {
      return lastApplied;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** What the quota counts now: keys' chars, values' bytes and the per-key overhead. */
  public long storeBytes() {
    lock.readLock().lock();
    try {
      return entries.bytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The store's quota (see {@link #STORE_BYTES_MAX_DEFAULT}). */
  public long storeBytesMax() {
    return storeBytesMax;
  }

  public int size() {
    lock.readLock().lock();
    try {
      return entries.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  public int tombstoneCount() {
    lock.readLock().lock();
    try {
      return tombstones.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A transaction of read verbs only, served from this copy (after the caller's read barrier). */
  public KvResult.Txn readTxn(List<TxnOp> ops) {
    for (TxnOp op : ops) {
      if (op.verb().isWrite()) {
        throw new IllegalArgumentException("not a read-only transaction: " + op.verb().wireName());
      }
    }
    lock.readLock().lock();
    try {
      return runTxn(ops, null);
    } finally {
      lock.readLock().unlock();
    }
  }

  private List<KvEntry> listLocked(String prefix) {
    return entries.withPrefix(prefix);
  }

  private long prefixIndexLocked(String prefix, List<KvEntry> list) {
    if (prefix.isEmpty()) {
      return atLeastOne(index);
    }
    long max = 0;
    for (KvEntry e : list) {
      max = Math.max(max, e.modifyIndex());
    }
    for (Map.Entry<String, Long> t : tombstones.tailMap(prefix, true).entrySet()) {
      if (!t.getKey().startsWith(prefix)) {
        break;
      }
      max = Math.max(max, t.getValue());
    }
    return atLeastOne(max == 0 ? index : max);
  }

  private static long atLeastOne(long index) {
    return Math.max(1, index);
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * Streams the state (see {@link Capture#writeTo} for the format). The maps are copied (references
   * only) under the read lock, so applies continue while a slow stream is written. The stream is
   * flushed, not closed.
   */
  public void writeSnapshot(OutputStream out) throws IOException {
    capture().writeTo(out);
  }

  /**
   * A consistent copy of the whole state as of the last apply: the maps are copied (references only;
   * entries are immutable) under the read lock, O(keys + tombstones) and no value bytes, so the
   * Raft runtime takes it on its context at the applied index and writes it later on a worker
   * while applies go on.
   */
  public Capture capture() {
    lock.readLock().lock();
    try {
      return new Capture(entries.inOrder(), new TreeMap<>(tombstones), dedupe.copy(), index, lastApplied);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The state at one moment, detached from the live maps. */
  public static final class Capture {
    private final List<KvEntry> entries; // in key order
    private final TreeMap<String, Long> tombstones;
    private final DedupeTable dedupe;
    private final long index;
    private final long lastApplied;

    private Capture(List<KvEntry> entries, TreeMap<String, Long> tombstones, DedupeTable dedupe,
        long index, long lastApplied) {
      this.entries = entries;
      this.tombstones = tombstones;
      this.dedupe = dedupe;
      this.index = index;
      this.lastApplied = lastApplied;
    }

    /** The highest Raft index applied when the capture was taken. */
    public long lastApplied() {
      return lastApplied;
    }

    /**
     * Streams it: {@code magic "CKVS" | version:i32 | lastApplied:i64 | index:i64 | count:i64 ×
     * entry | count:i64 × (key:str, index:i64) tombstones | dedupe table | "END!" | CRC32C:i64 of
     * everything before}. The stream is flushed, not closed. May be called from any thread.
     */
    public void writeTo(OutputStream out) throws IOException {
      CRC32C crc = new CRC32C();
      BufferedOutputStream buffered = new BufferedOutputStream(nonClosing(out), 64 * 1024);
      DataOutputStream data = new DataOutputStream(new CheckedOutputStream(buffered, crc));
      data.writeInt(SNAPSHOT_MAGIC);
      data.writeInt(SNAPSHOT_VERSION);
      data.writeLong(lastApplied);
      data.writeLong(index);
      data.writeLong(entries.size());
      for (KvEntry e : entries) {
        KvCodec.writeEntry(data, e);
      }
      data.writeLong(tombstones.size());
      for (Map.Entry<String, Long> t : tombstones.entrySet()) {
        KvCodec.writeString(data, t.getKey());
        data.writeLong(t.getValue());
      }
      dedupe.write(data);
      data.writeInt(SNAPSHOT_END);
      data.flush();
      new DataOutputStream(buffered).writeLong(crc.getValue()); // outside the checksum
      buffered.flush();
    }
  }

  /**
   * Replaces the state with a snapshot's, all or nothing: a bad stream (version, checksum,
   * truncation, trailing garbage inside the frame) throws and leaves the current state. Wakes every
   * blocking query.
   */
  public void restore(InputStream in) throws IOException, KvCodecException {
    readSnapshot(in).install();
  }

  /**
   * Reads and checks a snapshot into a new state without touching the current one (no lock held),
   * so the Raft runtime parses a large snapshot on a worker; {@link Restored#install} swaps it in.
   */
  public Restored readSnapshot(InputStream in) throws IOException, KvCodecException {
    CRC32C crc = new CRC32C();
    BufferedInputStream buffered = new BufferedInputStream(nonClosing(in), 64 * 1024);
    DataInputStream data = new DataInputStream(new CheckedInputStream(buffered, crc));
    KvEntries newEntries = new KvEntries();
    TreeMap<String, Long> newTombstones = new TreeMap<>();
    DedupeTable newDedupe;
    long newIndex;
    long newApplied;
    try {
      int magic = data.readInt();
      if (magic != SNAPSHOT_MAGIC) {
        throw new KvCodecException("not a KV snapshot (magic " + Integer.toHexString(magic) + ")");
      }
      int version = data.readInt();
      if (version != SNAPSHOT_VERSION) {
        throw new KvCodecException("unknown KV snapshot version " + version + " (this server reads " + SNAPSHOT_VERSION + ")");
      }
      newApplied = data.readLong();
      newIndex = data.readLong();
      if (newIndex < 0 || newApplied < newIndex) {
        throw new KvCodecException("bad snapshot indexes: index " + newIndex + ", applied " + newApplied);
      }
      long n = data.readLong();
      checkCount(n, "entry");
      for (long i = 0; i < n; i++) {
        KvEntry e = KvCodec.readEntry(data);
        if (e.value() == null || e.modifyIndex() > newIndex || e.createIndex() > e.modifyIndex()) {
          throw new KvCodecException("bad snapshot entry " + e);
        }
        newEntries.put(e.key(), e);
      }
      long t = data.readLong();
      checkCount(t, "tombstone");
      for (long i = 0; i < t; i++) {
        newTombstones.put(KvCodec.readString(data), data.readLong());
      }
      newDedupe = DedupeTable.read(data, dedupeAgentsMax, dedupeWindowMax);
      int end = data.readInt();
      if (end != SNAPSHOT_END) {
        throw new KvCodecException("bad snapshot end marker " + Integer.toHexString(end));
      }
      long expected = crc.getValue();
      long actual = new DataInputStream(buffered).readLong(); // outside the checksum
      if (actual != expected) {
        throw new KvCodecException("snapshot checksum mismatch: computed " + Long.toHexString(expected) + ", stored " + Long.toHexString(actual));
      }
    } catch (EOFException e) {
      throw new KvCodecException("truncated KV snapshot");
    }
    return new Restored(newEntries, newTombstones, newDedupe, newIndex, newApplied);
  }

  /** A snapshot read and checked, not yet in force. */
  public final class Restored {
    private final KvEntries newEntries;
    private final TreeMap<String, Long> newTombstones;
    private final DedupeTable newDedupe;
    private final long newIndex;
    private final long newApplied;
    private boolean installed;

    private Restored(KvEntries entries, TreeMap<String, Long> tombstones, DedupeTable dedupe,
        long index, long applied) {
      this.newEntries = entries;
      this.newTombstones = tombstones;
      this.newDedupe = dedupe;
      this.newIndex = index;
      this.newApplied = applied;
    }

    /** The highest Raft index the snapshot had applied. */
    public long lastApplied() {
      return newApplied;
    }

    /**
     * Replaces the state under the write lock and wakes every blocking query (Consul's "abandon":
     * each re-reads its index, which may differ from the one it waited on). Once only.
     */
    public void install() {
      if (installed) {
        throw new IllegalStateException("snapshot at applied index " + newApplied + " installed twice");
      }
      installed = true;
      lock.writeLock().lock();
      try {
        entries = newEntries;
        tombstones = newTombstones;
        dedupe = newDedupe;
        index = newIndex;
        lastApplied = newApplied;
      } finally {
        lock.writeLock().unlock();
      }
      notifyListeners(KvChange.everything(newIndex));
    }
  }

  private static void checkCount(long n, String what) throws KvCodecException {
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new KvCodecException("bad snapshot " + what + " count " + n);
    }
  }

  private static OutputStream nonClosing(OutputStream out) {
    return new java.io.FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        flush();
      }
    };
  }

  private static InputStream nonClosing(InputStream in) {
    return new java.io.FilterInputStream(in) {
      @Override
      public void close() {}
    };
  }
}
