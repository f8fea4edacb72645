package io.conclave.consensus.raft;

import io.conclave.consensus.log.Entry;
import java.util.ArrayList;
import java.util.List;

/**
 * A node's in-memory copy of its log, with the commit and apply cursors, and the bookkeeping of what
 * has not yet been handed to the runtime for persistence. The durable copy is the runtime's
 * {@link io.conclave.consensus.log.LogStore}; the two hold the same entries once every
 * {@link Ready} has been carried out.
 */
final class RaftLog {
  // Entries before firstIndex are compacted away (a later issue); offsetTerm is the term at
  // firstIndex - 1, 0 when nothing was compacted.
  private long offset; // index of entries.get(0) is offset + 1
  private long offsetTerm;
  private final ArrayList<Entry> entries = new ArrayList<>();
  // invariant: offset <= applied <= committed <= lastIndex()
  private long committed;
  private long applied;
  // Lowest index written since the last drain (lastIndex() + 1 when nothing is pending).
  private long unstableFrom;
  private boolean truncated;
  // The runtime reported every entry up to here forced (persistedTo); what the leader may count for
  // itself towards a commit. invariant: durable <= lastIndex()
  private long durable;

  RaftLog(long offset, long offsetTerm, List<Entry> stored, long committed) {
    this.offset = offset;
    this.offsetTerm = offsetTerm;
    for (int i = 0; i < stored.size(); i++) {
      Entry e = stored.get(i);
      check(e.index() == offset + 1 + i, "stored entry %d at position %d (offset %d)", e.index(), i, offset);
      entries.add(e);
    }
    this.committed = Math.min(Math.max(committed, offset), lastIndex());
    this.applied = offset;
    this.unstableFrom = lastIndex() + 1;
    this.durable = lastIndex(); // what the store recovered is on disk
  }

  long lastIndex() {
    return offset + entries.size();
  }

  long lastTerm() {
    return entries.isEmpty() ? offsetTerm : entries.get(entries.size() - 1).term();
  }

  long firstIndex() {
    return offset + 1;
  }

  long committed() {
    return committed;
  }

  long applied() {
    return applied;
  }

  /** Term at {@code index}; 0 for index 0, -1 when the index is outside the log. */
  long term(long index) {
    if (index == offset) return offsetTerm;
    if (index < offset || index > lastIndex()) return -1;
    return entries.get((int) (index - offset - 1)).term();
  }

  Entry entry(long index) {
    return entries.get((int) (index - offset - 1));
  }

  boolean matchTerm(long index, long term) {
    return term(index) == term;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  boolean isUpToDate(long lastIndex, long lastTerm) {
    return lastTerm > lastTerm() || (lastTerm == lastTerm() && lastIndex >= lastIndex());
  }

  /** Leader path: append entries that directly follow the last index. */
  void append(Entry e) {
    check(e.index() == lastIndex() + 1, "append %d after last %d", e.index(), lastIndex());
    entries.add(e);
  }

  /**
   * Follower path (Raft §5.3): entries follow {@code prevIndex}, which the caller checked matches.
   * Skips entries already present, truncates at the first conflict, appends the rest.
   *
   * @return the index of the last entry of the message (everything up to it now matches the leader)
   */
  long appendFollowing(long prevIndex, List<Entry> incoming) {
    for (int i = 0; i < incoming.size(); i++) {
      Entry e = incoming.get(i);
      long existing = term(e.index());
      if (existing == e.term()) continue;
      if (existing != -1) {
        // Conflict: everything from here on is replaced. A committed entry can never conflict.
        check(e.index() > committed, "conflict at %d <= committed %d (term %d vs %d)", e.index(), committed, existing, e.term());
        truncateFrom(e.index());
      }
      for (int j = i; j < incoming.size(); j++) append(incoming.get(j));
      break;
    }
    return prevIndex + incoming.size();
  }

  private void truncateFrom(long index) {
    entries.subList((int) (index - offset - 1), entries.size()).clear();
    unstableFrom = Math.min(unstableFrom, index);
    truncated = true;
    durable = Math.min(durable, index - 1); // the replacing entries are not forced yet
  }

  long durable() {
    return durable;
  }

  /**
   * The runtime forced the log up to entry ({@code index}, {@code term}). Ignored (returns false) when
   * that entry is no longer ours: a conflict replaced it since it was written (two entries with the
   * same index and term have the same prefix, so a match means everything up to it is forced), or it
   * lies outside the in-memory log (compacted, or not written yet).
   */
  boolean persistedTo(long index, long term) {
    if (index <= durable || index < offset || !matchTerm(index, term)) return false;
    durable = index;
    return true;
  }

  /** Whether a conflict truncated the log since the last call (the configuration may have changed). */
  boolean takeTruncated() {
    boolean t = truncated;
    truncated = false;
    return t;
  }

  /** First index whose term equals the term at {@code index} (fast backtracking hint). */
  long firstIndexOfTermAt(long index) {
    long t = term(index);
    long i = index;
    while (i - 1 > offset && term(i - 1) == t) i--;
    return i;
  }

  /** Last index at or below {@code from} whose term is {@code term}, or -1 when none. */
  long lastIndexOfTerm(long term, long from) {
    for (long i = Math.min(from, lastIndex()); i > offset; i--) {
      long t = term(i);
      if (t == term) return i;
      if (t < term) return -1;
    }
    return -1;
  }

  void commitTo(long index) {
    if (index <= committed) return;
    check(index <= lastIndex(), "commit %d > lastIndex %d (log truncated?)", index, lastIndex());
    committed = index;
  }

  /** Entries from {@code from} on, at most {@code maxBytes} of them but always at least one. */
  List<Entry> slice(long from, long maxBytes) {
    long last = lastIndex();
    if (from > last) return List.of();
    List<Entry> out = new ArrayList<>();
    long bytes = 0;
    for (long i = from; i <= last; i++) {
      Entry e = entry(i);
      bytes += e.sizeBytes();
      if (!out.isEmpty() && bytes > maxBytes) break;
      out.add(e);
    }
    return out;
  }

  /** Drops entries up to {@code index} (covered by a snapshot); {@code index} must be applied. */
  void compactTo(long index) {
    if (index <= offset) return;
    check(index <= applied, "compact to %d beyond applied %d", index, applied);
    long t = term(index);
    entries.subList(0, (int) (index - offset)).clear();
    offset = index;
    offsetTerm = t;
  }

  /**
   * Installs a snapshot at (index, term) received from the leader. When our entry at {@code index}
   * has the same term, the entries after it are kept (they match the leader's); else the whole log
   * is replaced by the snapshot. Either way everything up to {@code index} counts as applied.
   */
  void restore(long index, long term) {
    if (matchTerm(index, term)) {
      committed = Math.max(committed, index);
      applied = Math.max(applied, index);
      compactTo(index);
    } else {
      entries.clear();
      offset = index;
      offsetTerm = term;
      committed = index;
      applied = index;
      durable = Math.min(durable, index); // nothing after the snapshot is ours yet
    }
    unstableFrom = Math.max(unstableFrom, offset + 1);
    if (unstableFrom > lastIndex() + 1) unstableFrom = lastIndex() + 1;
  }

  long snapshotIndex() {
    return offset;
  }

  long snapshotTerm() {
    return offsetTerm;
  }

  /** Entries written since the last call, to persist. */
  List<Entry> drainUnstable() {
    long last = lastIndex();
    if (unstableFrom > last) {
      unstableFrom = last + 1;
      return List.of();
    }
    List<Entry> out = new ArrayList<>(entries.subList((int) (unstableFrom - offset - 1), entries.size()));
    unstableFrom = last + 1;
    return out;
  }

  boolean hasUnstable() {
    return unstableFrom <= lastIndex();
  }

  /** Committed entries not yet handed out for applying; marks them applied. */
  List<Entry> drainCommitted() {
    if (applied >= committed) return List.of();
    List<Entry> out = new ArrayList<>(entries.subList((int) (applied - offset), (int) (committed - offset)));
    applied = committed;
    return out;
  }

  static void check(boolean ok, String fmt, Object... args) {
    if (!ok) throw new IllegalStateException(String.format(fmt, args));
  }
}
