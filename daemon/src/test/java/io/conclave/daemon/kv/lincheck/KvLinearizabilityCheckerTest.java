package io.conclave.daemon.kv.lincheck;

import static io.conclave.daemon.kv.lincheck.Operation.cas;
import static io.conclave.daemon.kv.lincheck.Operation.read;
import static io.conclave.daemon.kv.lincheck.Operation.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The checker says yes to histories with a linearization (Herlihy &amp; Wing's definition: each
 * operation takes effect at one point between its invocation and response) and no to those without.
 */
class KvLinearizabilityCheckerTest {
  static final RegisterModel MODEL = new RegisterModel();

  static LinearizabilityChecker.Result check(Operation... ops) {
    return LinearizabilityChecker.check(List.of(ops), MODEL, 1_000_000);
  }

  @Test
  void sequentialHistory() {
    assertThat(check(write(1, "k", "a", 0, 1), read(1, "k", "a", 2, 3), cas(1, "k", "a", "b", true, 4, 5),
        cas(1, "k", "a", "c", false, 6, 7), read(1, "k", "b", 8, 9), write(1, "k", null, 10, 11), read(1, "k", null, 12, 13)).ok())
        .isTrue();
  }

  @Test
  void readConcurrentWithAWriteMaySeeEitherValue() {
    assertThat(check(write(1, "k", "a", 0, 10), read(2, "k", "a", 1, 2)).ok()).isTrue();
    assertThat(check(write(1, "k", "a", 0, 10), read(2, "k", null, 1, 2)).ok()).isTrue();
    assertThat(check(write(1, "k", "a", 0, 10), read(2, "k", "a", 1, 2), read(2, "k", "a", 3, 4)).ok()).isTrue();
  }

  @Test
  void staleReadAfterACompletedWriteIsNot() {
    LinearizabilityChecker.Result r = check(write(1, "k", "a", 0, 1), read(2, "k", null, 2, 3));
    assertThat(r.verdict()).isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
    assertThat(r.key()).isEqualTo("k");
    assertThat(r.stuck()).extracting(Operation::kind).containsExactly(Operation.Kind.READ);
  }

  @Test
  void newThenOldReadsDuringOneWriteAreNot() {
    // both reads overlap the write, but once a read saw "a" a later read cannot see the old value
    assertThat(check(write(1, "k", "a", 0, 10), read(2, "k", "a", 1, 2), read(3, "k", null, 3, 4)).verdict())
        .isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
    // overlapping reads may see them in either order
    assertThat(check(write(1, "k", "a", 0, 10), read(2, "k", "a", 1, 4), read(3, "k", null, 2, 5)).ok()).isTrue();
  }

  @Test
  void twoWinningCasFromTheSameValueAreNot() {
    assertThat(check(cas(1, "k", null, "a", true, 0, 5), cas(2, "k", null, "b", true, 1, 6)).verdict())
        .isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
    assertThat(check(cas(1, "k", null, "a", true, 0, 5), cas(2, "k", null, "b", false, 1, 6), read(3, "k", "a", 7, 8)).ok()).isTrue();
    assertThat(check(cas(1, "k", null, "a", false, 0, 5), read(3, "k", null, 7, 8)).verdict())
        .as("a failed cas on the matching value").isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownOutcomesMayTakeEffectOnceOrNever() {
    Operation lost = write(1, "k", "a", 0, 1).unknown();
    assertThat(check(lost, read(2, "k", "a", 5, 6)).ok()).as("took effect").isTrue();
    assertThat(check(lost, read(2, "k", null, 5, 6)).ok()).as("never took effect (or later)").isTrue();
    assertThat(check(lost, read(2, "k", "a", 5, 6), read(2, "k", null, 7, 8)).verdict())
        .as("cannot be undone").isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
    Operation lostCas = cas(1, "k", null, "b", false, 0, 1).unknown();
    assertThat(check(lostCas, read(2, "k", "b", 5, 6)).ok()).isTrue();
    assertThat(check(write(3, "k", "x", 0, 1), lostCas, read(2, "k", "b", 5, 6)).verdict())
        .as("a cas from absent cannot apply after x was written").isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void keysAreCheckedIndependently() {
    assertThat(check(write(1, "a", "1", 0, 1), write(1, "b", "2", 2, 3), read(2, "a", "1", 4, 5), read(2, "b", "2", 4, 5)).ok()).isTrue();
    LinearizabilityChecker.Result r = check(write(1, "a", "1", 0, 1), write(1, "b", "2", 2, 3), read(2, "a", "1", 4, 5), read(2, "b", "1", 6, 7));
    assertThat(r.verdict()).isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
    assertThat(r.key()).isEqualTo("b");
  }

  @Test
  void aTinyBudgetGivesUnknownNotAnAnswer() {
    List<Operation> ops = randomHistory(new SplittableRandom(3), 40, 6);
    assertThat(LinearizabilityChecker.check(ops, MODEL, 3).verdict()).isEqualTo(LinearizabilityChecker.Verdict.UNKNOWN);
  }

  /**
   * Concurrent clients against a register: each operation takes effect at a random instant inside
   * its interval, answers are computed in that order, so the history is linearizable by construction.
   */
  static List<Operation> randomHistory(SplittableRandom r, int count, int clients) {
    record Planned(int client, Operation.Kind kind, String expected, String value, long call, long point, long ret) {}
    List<Planned> planned = new ArrayList<>();
    long[] clientFree = new long[clients];
    List<String> written = new ArrayList<>();
    written.add(null);
    for (int i = 0; i < count; i++) {
      int c = r.nextInt(clients);
      long call = clientFree[c] + r.nextInt(5);
      long ret = call + 1 + r.nextInt(30);
      long point = call + r.nextLong(ret - call + 1);
      clientFree[c] = ret + 1;
      Operation.Kind kind = Operation.Kind.values()[r.nextInt(3)];
      String value = "v" + i;
      written.add(value);
      planned.add(new Planned(c, kind, written.get(r.nextInt(written.size())), value, call, point, ret));
    }
    planned.sort(Comparator.comparingLong(Planned::point));
    String state = null;
    List<Operation> ops = new ArrayList<>();
    for (Planned p : planned) {
      switch (p.kind()) {
        case READ:
          ops.add(read(p.client(), "k", state, p.call(), p.ret()));
          break;
        case WRITE:
          ops.add(write(p.client(), "k", p.value(), p.call(), p.ret()));
          state = p.value();
          break;
        default:
          boolean ok = java.util.Objects.equals(state, p.expected());
          ops.add(cas(p.client(), "k", p.expected(), p.value(), ok, p.call(), p.ret()));
          if (ok) {
            state = p.value();
          }
      }
    }
    return ops;
  }

  @Test
  void randomLinearizableHistoriesPassAndACorruptedReadFails() {
    long seed = Long.getLong("lincheck.seed", System.nanoTime());
    SplittableRandom r = new SplittableRandom(seed);
    int failuresFound = 0;
    for (int round = 0; round < 60; round++) {
      List<Operation> ops = randomHistory(r, 120, 5);
      LinearizabilityChecker.Result good = LinearizabilityChecker.check(ops, MODEL, 2_000_000);
      assertThat(good.ok()).as("seed=%d round=%d: %s", seed, round, good).isTrue();

      // a read answering a value that was never written cannot be linearized
      List<Operation> bad = new ArrayList<>(ops);
      int at = r.nextInt(bad.size());
      Operation o = bad.get(at);
      bad.set(at, read(o.client(), "k", "never-written", o.callTime(), o.returnTime()));
      assertThat(LinearizabilityChecker.check(bad, MODEL, 2_000_000).verdict()).as("seed=%d round=%d", seed, round)
          .isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);

      // dropping unknown outcomes' answers keeps a linearizable history linearizable
      List<Operation> lossy = new ArrayList<>(ops);
      for (int i = 0; i < lossy.size(); i++) {
        if (lossy.get(i).kind() != Operation.Kind.READ && r.nextInt(8) == 0) {
          lossy.set(i, lossy.get(i).unknown());
        }
      }
      assertThat(LinearizabilityChecker.check(lossy, MODEL, 2_000_000).ok()).as("seed=%d round=%d", seed, round).isTrue();

      // a successful cas turned into a failure is usually caught
      for (int i = 0; i < ops.size(); i++) {
        Operation c = ops.get(i);
        if (c.kind() == Operation.Kind.CAS && c.ok()) {
          List<Operation> flipped = new ArrayList<>(ops);
          flipped.set(i, cas(c.client(), "k", c.expected(), c.value(), false, c.callTime(), c.returnTime()));
          if (LinearizabilityChecker.check(flipped, MODEL, 2_000_000).verdict() == LinearizabilityChecker.Verdict.NOT_LINEARIZABLE) {
            failuresFound++;
          }
          break;
        }
      }
    }
    assertThat(failuresFound).as("seed=%d", seed).isPositive();
  }
}
