package io.conclave.consensus.sim;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.raft.Role;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Raft's safety properties (Figure 3), checked by the simulator after every step:
 *
 * <ul>
 *   <li>Election Safety: at most one leader per term.
 *   <li>Log Matching: two logs with an entry of the same index and term agree on everything up to it.
 *   <li>Leader Completeness: a leader of term T holds every entry committed in a term ≤ T.
 *   <li>State Machine Safety: every node applies the same entry at each index, in index order.
 *   <li>Durability: every committed entry sits in the forced logs of a majority, so no crash can lose
 *       it.
 * </ul>
 */
final class Invariants {
  private final Simulator sim;
  private final int quorum;
  private final Map<Long, String> leaderOfTerm = new HashMap<>();
  // (index, term) -> prefix hash, over every entry any node ever wrote.
  private final Map<Long, Map<Long, Long>> written = new HashMap<>();
  // The committed log as applied: term and prefix hash per index; commitTerm is nondecreasing.
  private long[] commitTerm = new long[64];
  private long[] commitPrefix = new long[64];
  private int maxCommitted;

  Invariants(Simulator sim, int quorum) {
    this.sim = sim;
    this.quorum = quorum;
  }

  void onWrite(Simulator.SimNode n, List<Entry> entries) {
    if (entries.isEmpty()) return;
    n.work.write(entries);
    for (Entry e : entries) {
      long h = n.work.prefixHash(e.index());
      Long prior = written.computeIfAbsent(e.index(), k -> new HashMap<>()).putIfAbsent(e.term(), h);
      if (prior != null && prior != h) {
        throw new AssertionError("log matching: " + n.id + " wrote " + e + " whose prefix differs from another log's entry " + e.index() + "@" + e.term());
      }
    }
  }

  void onSync(Simulator.SimNode n) {
    n.durable = n.work.copy();
  }

  void onCrash(Simulator.SimNode n) {
    n.work = n.durable.copy();
  }

  void onRestart(Simulator.SimNode n) {
    if (n.raft.lastIndex() != n.work.last()) {
      throw new AssertionError(n.id + " restarted with last index " + n.raft.lastIndex() + " but forced " + n.work.last());
    }
  }

  void onApply(Simulator.SimNode n, Entry e) {
    if (e.index() != n.appliedIndex + 1) {
      throw new AssertionError(n.id + " applied " + e.index() + " after " + n.appliedIndex);
    }
    n.appliedIndex = e.index();
    if (n.work.last() < e.index() || n.work.term(e.index()) != e.term()) {
      throw new AssertionError(n.id + " applied " + e + " that its log does not hold");
    }
    long h = n.work.prefixHash(e.index());
    int i = (int) e.index();
    if (i <= maxCommitted) {
      if (commitPrefix[i] != h || commitTerm[i] != e.term()) {
        throw new AssertionError("state machine safety: " + n.id + " applied " + e + " but index " + i + " was applied elsewhere with term " + commitTerm[i]);
      }
      return;
    }
    if (i != maxCommitted + 1) throw new AssertionError("apply gap at " + i);
    if (i >= commitTerm.length) {
      commitTerm = Arrays.copyOf(commitTerm, commitTerm.length * 2);
      commitPrefix = Arrays.copyOf(commitPrefix, commitPrefix.length * 2);
    }
    commitTerm[i] = e.term();
    commitPrefix[i] = h;
    maxCommitted = i;
  }

  void check(String after) {
    for (Simulator.SimNode n : sim.nodes) {
      if (!n.up || n.raft.role() != Role.LEADER) continue;
      long term = n.raft.term();
      String prior = leaderOfTerm.putIfAbsent(term, n.id);
      if (prior != null && !prior.equals(n.id)) {
        throw new AssertionError("election safety: " + prior + " and " + n.id + " both leaders of term " + term + " (after " + after + ")");
      }
      int c = lastCommittedAtOrBelowTerm(term);
      if (c > 0 && n.work.prefixHash(c) != commitPrefix[c]) {
        throw new AssertionError("leader completeness: " + n.id + " leads term " + term + " without committed entry " + c + "@" + commitTerm[c] + " (after " + after + ")");
      }
    }
    if (maxCommitted > 0) {
      int holders = 0;
      for (Simulator.SimNode n : sim.nodes) if (n.durable.prefixHash(maxCommitted) == commitPrefix[maxCommitted]) holders++;
      if (holders < quorum) {
        throw new AssertionError("durability: committed entry " + maxCommitted + " is forced on " + holders + " nodes, quorum " + quorum + " (after " + after + ")");
      }
    }
  }

  /** Highest committed index whose term is ≤ term (commit terms never decrease along the log). */
  private int lastCommittedAtOrBelowTerm(long term) {
    int lo = 0;
    int hi = maxCommitted;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (commitTerm[mid] <= term) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  void requireApplied(long index, long term, byte[] data) {
    if (index > maxCommitted || commitTerm[(int) index] != term) {
      throw new AssertionError("liveness probe " + index + "@" + term + " not in the committed log");
    }
  }

  int maxCommitted() {
    return maxCommitted;
  }
}
