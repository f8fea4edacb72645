package io.conclave.consensus.sim;

import io.conclave.consensus.log.Entry;
import java.util.Arrays;
import java.util.List;

/**
 * What the simulator knows of one log: for every index, the entry's term and a hash of the whole
 * prefix up to it. Two logs agree up to index i exactly when their prefix hashes at i agree (up to a
 * 2^-64 collision), which turns the Log Matching check into one comparison per entry.
 */
final class LogShadow {
  private long[] terms = new long[64];
  private long[] prefix = new long[64];
  private int last; // index of the last entry; terms[0]/prefix[0] describe the empty log

  LogShadow copy() {
    LogShadow c = new LogShadow();
    c.terms = Arrays.copyOf(terms, terms.length);
    c.prefix = Arrays.copyOf(prefix, prefix.length);
    c.last = last;
    return c;
  }

  int last() {
    return last;
  }

  long term(long index) {
    return terms[(int) index];
  }

  long prefixHash(long index) {
    return index <= last ? prefix[(int) index] : 0;
  }

  /** Writes entries (contiguous), replacing the suffix from the first index as the store does. */
  void write(List<Entry> entries) {
    if (entries.isEmpty()) return;
    int first = (int) entries.get(0).index();
    if (first > last + 1) throw new AssertionError("gap: write at " + first + " after last " + last);
    last = first - 1;
    for (Entry e : entries) {
      int i = ++last;
      if (i >= terms.length) {
        terms = Arrays.copyOf(terms, terms.length * 2);
        prefix = Arrays.copyOf(prefix, prefix.length * 2);
      }
      terms[i] = e.term();
      prefix[i] = mix(prefix[i - 1] * 31 + e.term() * 0x9E3779B97F4A7C15L + entryHash(e));
    }
  }

  /**
   * Installs a snapshot at {@code index}: the prefix becomes the committed one; entries after it stay
   * only when our entry at {@code index} already matched it.
   */
  void installSnapshot(int index, long[] committedTerms, long[] committedPrefix) {
    boolean keep = index <= last && prefix[index] == committedPrefix[index];
    while (index >= terms.length) {
      terms = Arrays.copyOf(terms, terms.length * 2);
      prefix = Arrays.copyOf(prefix, prefix.length * 2);
    }
    System.arraycopy(committedTerms, 0, terms, 0, index + 1);
    System.arraycopy(committedPrefix, 0, prefix, 0, index + 1);
    if (!keep) last = index;
  }

  static long entryHash(Entry e) {
    return mix(Arrays.hashCode(e.data()) * 7L + e.type().code() + e.index() * 1_000_003L);
  }

  /** splitmix64's finalizer. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
