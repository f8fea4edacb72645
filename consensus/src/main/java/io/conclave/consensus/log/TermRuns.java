package io.conclave.consensus.log;

import java.util.ArrayList;
import java.util.List;

/**
 * The term of every index the store holds, as runs of equal terms (a handful per leader change), so
 * {@link SegmentedLogStore#saveSnapshot} can tell whether the stored entry at the snapshot's index
 * has the snapshot's term without keeping entries in memory.
 */
final class TermRuns {
  // runs.get(k) = {firstIndexOfRun, term}; run k covers up to the next run's start - 1 or to last.
  // invariant: run starts strictly increase, the first run starts at first, first <= last + 1
  private final List<long[]> runs = new ArrayList<>();
  private long first;
  private long last;

  TermRuns(long first, List<Entry> entries) {
    reset(first);
    for (Entry e : entries) append(e.index(), e.term());
  }

  /** Forgets everything; the next index is {@code first}. */
  void reset(long first) {
    runs.clear();
    this.first = first;
    this.last = first - 1;
  }

  /** Drops every index at or after {@code index}, then records {@code index} with {@code term}. */
  void append(long index, long term) {
    if (index < first || index > last + 1) {
      throw new IllegalStateException("term of " + index + " outside [" + first + ", "
          + (last + 1) + "]");
    }
    while (!runs.isEmpty() && runs.get(runs.size() - 1)[0] >= index) runs.remove(runs.size() - 1);
    if (runs.isEmpty() || runs.get(runs.size() - 1)[1] != term) runs.add(new long[] {index, term});
    last = index;
  }

  /** The term at {@code index}, or 0 when it is not held. */
  long termAt(long index) {
    if (index < first || index > last) return 0;
    int lo = 0;
    int hi = runs.size() - 1;
    while (lo < hi) { // the last run starting at or before index
      int mid = (lo + hi + 1) >>> 1;
      if (runs.get(mid)[0] <= index) lo = mid; else hi = mid - 1;
    }
    return runs.get(lo)[1];
  }

  /** Forgets the indexes up to and including {@code index}. */
  void dropThrough(long index) {
    if (index < first) return;
    if (index >= last) {
      reset(index + 1);
      return;
    }
    long next = index + 1;
    long term = termAt(next);
    while (runs.size() > 1 && runs.get(1)[0] <= next) runs.remove(0);
    runs.set(0, new long[] {next, term});
    first = next;
  }
}
