package io.conclave.consensus.sim;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.Role;
import io.conclave.consensus.raft.Snapshot;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Raft's safety properties (Figure 3 and the dissertation's additions), checked by the simulator
 * after every step:
 *
 * <ul>
 *   <li>Election Safety: at most one leader per term.
 *   <li>Log Matching: two logs with an entry of the same index and term agree on everything up to it.
 *       A log here is what a node forced, or wrote while that can still be forced: an entry that a
 *       crash threw away before any sync (and, its term not being durable, before anyone saw it) is
 *       in no log, so a sole voter that lost its unforced term and wins that term again may write
 *       other entries in it.
 *   <li>Leader Completeness: a leader of term T holds every entry committed in a term ≤ T.
 *   <li>State Machine Safety: every node applies the same entry at each index, in index order, and a
 *       snapshot restores exactly the state of the committed log up to its index.
 *   <li>Durability: every committed entry sits in the forced logs of a majority of the latest
 *       committed configuration, so no crash can lose it.
 *   <li>Membership: each configuration differs from the one before by at most one voter, so two
 *       consecutive configurations never have disjoint majorities.
 *   <li>Linearizable reads: a read served by ReadIndex or lease reflects at least every write
 *       acknowledged before the read began.
 * </ul>
 */
final class Invariants {
  private final Simulator sim;
  private final Map<Long, String> leaderOfTerm = new HashMap<>();
  // (index, term) -> prefix hash, over every entry any node ever forced.
  private final Map<Long, Map<Long, Long>> written = new HashMap<>();
  // The committed log as applied: term and prefix hash per index; commitTerm is nondecreasing.
  private long[] commitTerm = new long[64];
  private long[] commitPrefix = new long[64];
  private int maxCommitted;
  private Configuration commitConf;
  private long commitConfIndex;
  // Configurations written anywhere after the latest committed one: "index@term" -> {index, conf}.
  private final Map<String, Object[]> appendedConfs = new HashMap<>();
  private long ackedWriteIndex;
  boolean enabled = true;

  Invariants(Simulator sim) {
    this.sim = sim;
  }

  void onWrite(Simulator.SimNode n, List<Entry> entries) {
    if (entries.isEmpty()) return;
    n.work.write(entries);
    n.unsyncedFrom = Math.min(n.unsyncedFrom, entries.get(0).index());
    for (Entry e : entries) {
      if (e.type() == EntryType.CONFIG && e.index() > commitConfIndex) {
        appendedConfs.putIfAbsent(e.index() + "@" + e.term(), new Object[] {e.index(), Configuration.decode(e.data())});
      }
      Map<Long, Long> atIndex = written.get(e.index());
      Long prior = atIndex == null ? null : atIndex.get(e.term());
      if (prior != null && prior != n.work.prefixHash(e.index())) {
        throw new AssertionError("log matching: " + n.id + " wrote " + e + " whose prefix differs from another log's entry " + e.index() + "@" + e.term());
      }
    }
  }

  void onSnapshotWrite(Simulator.SimNode n, Snapshot s) {
    int i = (int) s.index();
    if (i > maxCommitted || commitTerm[i] != s.term()) {
      throw new AssertionError(n.id + " received " + s + " beyond the committed log (" + maxCommitted + ")");
    }
    n.work.installSnapshot(i, commitTerm, commitPrefix);
  }

  /** The node's writes are forced: they join the logs that every other write must match. */
  void onSync(Simulator.SimNode n) {
    for (long i = n.unsyncedFrom; i <= n.work.last(); i++) {
      long h = n.work.prefixHash(i);
      Long prior = written.computeIfAbsent(i, k -> new HashMap<>()).putIfAbsent(n.work.term(i), h);
      if (prior != null && prior != h) {
        throw new AssertionError("log matching: " + n.id + " forced entry " + i + "@" + n.work.term(i) + " whose prefix differs from another log's");
      }
    }
    n.unsyncedFrom = Long.MAX_VALUE;
    n.durable = n.work.copy();
  }

  void onCrash(Simulator.SimNode n) {
    n.work = n.durable.copy();
    n.unsyncedFrom = Long.MAX_VALUE;
  }

  void onRestart(Simulator.SimNode n) {
    if (n.raft.lastIndex() != n.work.last()) {
      throw new AssertionError(n.id + " restarted with last index " + n.raft.lastIndex() + " but forced " + n.work.last());
    }
    if (n.appliedIndex > 0 && n.stateHash != commitPrefix[(int) n.appliedIndex]) {
      throw new AssertionError(n.id + " restarted from a snapshot at " + n.appliedIndex + " whose state differs from the committed log");
    }
  }

  /** A snapshot received from the leader replaces the state machine. */
  void onRestore(Simulator.SimNode n, Snapshot s) {
    ByteBuffer b = ByteBuffer.wrap(s.data());
    long index = b.getLong();
    long hash = b.getLong();
    if (index != s.index() || hash != commitPrefix[(int) index]) {
      throw new AssertionError("state machine safety: " + n.id + " restored " + s + " whose state differs from the committed log");
    }
    if (index < n.appliedIndex) throw new AssertionError(n.id + " restored " + s + " behind its applied index " + n.appliedIndex);
    n.appliedIndex = index;
    n.stateHash = hash;
  }

  void onApply(Simulator.SimNode n, Entry e) {
    if (e.index() != n.appliedIndex + 1) {
      throw new AssertionError(n.id + " applied " + e.index() + " after " + n.appliedIndex);
    }
    if (n.work.last() < e.index() || n.work.term(e.index()) != e.term()) {
      throw new AssertionError(n.id + " applied " + e + " that its log does not hold");
    }
    long h = n.work.prefixHash(e.index());
    int i = (int) e.index();
    if (i <= maxCommitted) {
      if (commitPrefix[i] != h || commitTerm[i] != e.term()) {
        throw new AssertionError("state machine safety: " + n.id + " applied " + e + " but index " + i + " was applied elsewhere with term " + commitTerm[i]);
      }
    } else {
      if (i != maxCommitted + 1) throw new AssertionError("apply gap at " + i);
      if (i >= commitTerm.length) {
        commitTerm = Arrays.copyOf(commitTerm, commitTerm.length * 2);
        commitPrefix = Arrays.copyOf(commitPrefix, commitPrefix.length * 2);
      }
      commitTerm[i] = e.term();
      commitPrefix[i] = h;
      maxCommitted = i;
      if (e.type() == EntryType.CONFIG) {
        Configuration next = Configuration.decode(e.data());
        if (commitConf != null) checkSingleStep(commitConf, next);
        commitConf = next;
        commitConfIndex = i;
        appendedConfs.values().removeIf(p -> (long) p[0] <= commitConfIndex);
      }
    }
    n.appliedIndex = e.index();
    n.stateHash = h;
  }

  /** A write's proposer applied it: from now on every read that starts must see it. */
  void onAcknowledged(Entry e) {
    ackedWriteIndex = Math.max(ackedWriteIndex, e.index());
  }

  long ackedWriteIndex() {
    return ackedWriteIndex;
  }

  void checkRead(Simulator.SimNode n, long readId, long ackedAtStart) {
    if (n.appliedIndex < ackedAtStart) {
      throw new AssertionError("linearizability: read " + readId + " at " + n.id + " served at applied index " + n.appliedIndex
          + " but write " + ackedAtStart + " was acknowledged before the read began");
    }
  }

  static void checkSingleStep(Configuration before, Configuration after) {
    TreeSet<String> diff = new TreeSet<>(before.voters());
    diff.addAll(after.voters());
    TreeSet<String> both = new TreeSet<>(before.voters());
    both.retainAll(after.voters());
    diff.removeAll(both);
    if (diff.size() > 1) throw new AssertionError("membership: " + before + " -> " + after + " changes " + diff.size() + " voters at once");
  }

  void check(String after) {
    if (!enabled) return;
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
    if (maxCommitted > 0 && commitConf != null) {
      // A leader commits with the latest configuration in its log, committed or not (dissertation
      // §4.1): the entry must be forced on a majority of the latest committed configuration or of one
      // appended after it (even if a later leader truncated that one away). One-step changes make
      // every such majority overlap those of its neighbours, which is what keeps it safe.
      int holders = durableHolders(commitConf);
      boolean ok = holders >= commitConf.quorum();
      for (Object[] pending : appendedConfs.values()) {
        if (ok) break;
        Configuration c = (Configuration) pending[1];
        if ((long) pending[0] > commitConfIndex) ok = durableHolders(c) >= c.quorum();
      }
      if (!ok) {
        StringBuilder who = new StringBuilder();
        for (Simulator.SimNode n : sim.nodes) {
          who.append("\n    ").append(n.raft).append(" durableLast=").append(n.durable.last())
              .append(" holds=").append(n.durable.prefixHash(maxCommitted) == commitPrefix[maxCommitted])
              .append(" workHolds=").append(n.work.prefixHash(maxCommitted) == commitPrefix[maxCommitted])
              .append(" applied=").append(n.appliedIndex);
        }
        throw new AssertionError("durability: committed entry " + maxCommitted + " is forced on " + holders + " voters of " + commitConf + " (after " + after + ")" + who);
      }
    }
  }

  private int durableHolders(Configuration c) {
    int holders = 0;
    for (Simulator.SimNode n : sim.nodes) {
      if (c.isVoter(n.id) && n.durable.prefixHash(maxCommitted) == commitPrefix[maxCommitted]) holders++;
    }
    return holders;
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

  void requireCommitted(long index, long term) {
    if (index > maxCommitted || commitTerm[(int) index] != term) {
      throw new AssertionError("liveness probe " + index + "@" + term + " not in the committed log");
    }
  }

  /** Term of the committed entry at {@code index}, or -1 when nothing is committed there yet. */
  long committedTerm(long index) {
    return index <= maxCommitted ? commitTerm[(int) index] : -1;
  }

  int maxCommitted() {
    return maxCommitted;
  }
}
