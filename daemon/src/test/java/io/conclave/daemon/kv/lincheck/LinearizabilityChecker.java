package io.conclave.daemon.kv.lincheck;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Wing &amp; Gong's search with Lowe's memoization ("Testing for linearizability", 2017), per key
 * (linearizability is compositional, Herlihy &amp; Wing §3.3, so each key is checked alone).
 *
 * <p>Depth-first: from a state and the set of operations already linearized, any pending operation
 * invoked before the earliest return among the pending ones may be linearized next (it cannot be
 * ordered after an operation that completed before it began), if the model accepts its answer. A
 * (linearized set, state) pair seen before is not explored again. Operations with unknown outcome
 * return at +∞, so they never constrain others and may be placed last, where their effect is unseen
 * (= never took effect).
 */
public final class LinearizabilityChecker {
  public enum Verdict { LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN }

  /**
   * The verdict; for a failure the key, and the operations of the longest linearizable prefix
   * found with the pending operations none of which could come next (to read the bug off).
   */
  public record Result(Verdict verdict, String key, List<Operation> longestPrefix, List<Operation> stuck, long statesExplored) {
    public boolean ok() {
      return verdict == Verdict.LINEARIZABLE;
    }

    @Override
    public String toString() {
      if (verdict == Verdict.LINEARIZABLE) {
        return "linearizable (" + statesExplored + " states)";
      }
      return verdict + " key=" + key + " after " + longestPrefix.size() + " ops " + longestPrefix + " none of " + stuck
          + " fits (" + statesExplored + " states)";
    }
  }

  private LinearizabilityChecker() {}

  /** Checks every key's sub-history; the first failing key decides. {@code statesMax} bounds the search per key. */
  public static <S> Result check(List<Operation> history, Model<S> model, long statesMax) {
    Map<String, List<Operation>> byKey = new TreeMap<>();
    for (Operation op : history) {
      byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
    }
    long explored = 0;
    for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
      Result r = new Search<>(e.getKey(), e.getValue(), model, statesMax).run();
      explored += r.statesExplored();
      if (!r.ok()) {
        return r;
      }
    }
    return new Result(Verdict.LINEARIZABLE, null, List.of(), List.of(), explored);
  }

  private static final class Search<S> {
    final String key;
    final Operation[] ops; // by invocation time
    final Model<S> model;
    final long statesMax;
    final Set<Memo<S>> seen = new HashSet<>();
    final BitSet done;
    final int[] order;
    long explored;
    int bestDepth = -1;
    int[] bestOrder = new int[0];
    BitSet bestDone = new BitSet();

    Search(String key, List<Operation> history, Model<S> model, long statesMax) {
      this.key = key;
      this.ops = history.stream().sorted(Comparator.comparingLong(Operation::callTime)).toArray(Operation[]::new);
      this.model = model;
      this.statesMax = statesMax;
      this.done = new BitSet(ops.length);
      this.order = new int[ops.length];
    }

    private record Memo<S>(BitSet done, S state) {}

    Result run() {
      Boolean found;
      try {
        found = dfs(model.initial(), 0);
      } catch (BudgetExceeded e) {
        found = null;
      }
      if (Boolean.TRUE.equals(found)) {
        return new Result(Verdict.LINEARIZABLE, key, List.of(), List.of(), explored);
      }
      List<Operation> prefix = new ArrayList<>();
      for (int i = 0; i < bestDepth; i++) {
        prefix.add(ops[bestOrder[i]]);
      }
      List<Operation> stuck = new ArrayList<>();
      for (int i : candidates(bestDone)) {
        stuck.add(ops[i]);
      }
      return new Result(found == null ? Verdict.UNKNOWN : Verdict.NOT_LINEARIZABLE, key, prefix, stuck, explored);
    }

    private boolean dfs(S state, int depth) {
      if (depth == ops.length) {
        return true;
      }
      if (!seen.add(new Memo<>((BitSet) done.clone(), state))) {
        return false;
      }
      if (++explored > statesMax) {
        throw new BudgetExceeded();
      }
      if (depth > bestDepth) {
        bestDepth = depth;
        bestOrder = order.clone();
        bestDone = (BitSet) done.clone();
      }
      for (int i : candidates(done)) {
        for (S next : model.step(state, ops[i])) {
          done.set(i);
          order[depth] = i;
          if (dfs(next, depth + 1)) {
            return true;
          }
          done.clear(i);
        }
      }
      return false;
    }

    /** Pending operations invoked no later than the earliest return among the pending ones. */
    private List<Integer> candidates(BitSet linearized) {
      long minReturn = Long.MAX_VALUE;
      for (int i = linearized.nextClearBit(0); i < ops.length; i = linearized.nextClearBit(i + 1)) {
        minReturn = Math.min(minReturn, ops[i].returnTime());
      }
      List<Integer> list = new ArrayList<>();
      for (int i = linearized.nextClearBit(0); i < ops.length; i = linearized.nextClearBit(i + 1)) {
        if (ops[i].callTime() > minReturn) {
          break; // sorted by invocation
        }
        list.add(i);
      }
      return list;
    }
  }

  private static final class BudgetExceeded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BudgetExceeded() {
      super(null, null, false, false);
    }
  }
}
