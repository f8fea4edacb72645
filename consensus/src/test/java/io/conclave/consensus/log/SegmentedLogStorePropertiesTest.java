package io.conclave.consensus.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.log.LogStore.Recovered;
import io.conclave.consensus.log.SegmentedLogStore.Options;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.Snapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.Tuple;

/**
 * Random sequences of append (extending or replacing a suffix), hard-state saves, snapshots (matching
 * the stored entry, conflicting with it, beyond or below the log, at or below the stored snapshot,
 * which both stores ignore), compactions, syncs, clean
 * restarts and power cuts, run against {@link SegmentedLogStore} and against {@link MemoryLogStore}
 * as the model. After a clean restart the recovered state must equal the model's exactly. After a
 * power cut (buffer lost, the active segment cut anywhere at or beyond its forced size) it must be
 * one of the states the writes passed through since the last sync, never less than what was synced,
 * never something that was not written; except that a snapshot saved since the last sync is durable
 * at once, so a state from before it may come back with that snapshot's cut applied.
 */
class SegmentedLogStorePropertiesTest {

  sealed interface Op {}

  /** Append {@code count} entries starting {@code back} entries before the end (0 = extend). */
  record Append(int back, int count, boolean newTerm) implements Op {}

  record Save(boolean newTerm, int vote, int commitStep) implements Op {}

  /**
   * Save a snapshot at {@code lastIndex + offset} (at least 1), in the stored entry's term when
   * {@code sameTerm} and there is one, else in a new term (a leader's snapshot that conflicts);
   * then, when {@code thenCompact}, compact up to it as a runtime would.
   */
  record SaveSnapshot(int offset, boolean sameTerm, int dataBytes, boolean thenCompact)
      implements Op {}

  /** Compact up to {@code lastIndex - back}. */
  record Compact(int back) implements Op {}

  record Sync() implements Op {}

  record Restart() implements Op {}

  /** A power cut: the buffer is lost and the active segment cut at durable + fraction of the rest. */
  record PowerCut(double fraction) implements Op {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> append = Combinators.combine(
            Arbitraries.integers().between(0, 6),
            Arbitraries.integers().between(1, 8),
            Arbitraries.of(true, false, false))
        .as(Append::new);
    Arbitrary<Op> save = Combinators.combine(
            Arbitraries.of(true, false),
            Arbitraries.integers().between(-1, 3),
            Arbitraries.integers().between(0, 3))
        .as(Save::new);
    Arbitrary<Op> snapshot = Combinators.combine(
            Arbitraries.integers().between(-10, 3),
            Arbitraries.of(true, true, false),
            Arbitraries.integers().between(0, 300),
            Arbitraries.of(true, false))
        .as(SaveSnapshot::new);
    Arbitrary<Op> compact = Arbitraries.integers().between(-2, 10).map(Compact::new);
    Arbitrary<Op> cut = Arbitraries.doubles().between(0, 1).map(PowerCut::new);
    return Arbitraries.frequencyOf(
            Tuple.of(6, append),
            Tuple.of(3, save),
            Tuple.of(2, snapshot),
            Tuple.of(1, compact),
            Tuple.of(4, Arbitraries.just(new Sync())),
            Tuple.of(1, Arbitraries.just(new Restart())),
            Tuple.of(1, cut))
        .list()
        .ofMinSize(1)
        .ofMaxSize(60)
        .withSizeDistribution(RandomDistribution.uniform());
  }

  @Provide
  Arbitrary<Long> segmentBytes() {
    return Arbitraries.of(1024L, 1024L, 2048L, Options.SEGMENT_BYTES_MAX_DEFAULT);
  }

  /** A snapshot compared by content (Snapshot's array compares by reference). */
  record SnapKey(long index, long term, Configuration configuration, ByteBuffer data) {
    static SnapKey of(Snapshot s) {
      return s == null ? null
          : new SnapKey(s.index(), s.term(), s.configuration(), ByteBuffer.wrap(s.data()));
    }
  }

  /** One state of the store: what was written, durable or not. invariant: log starts at first. */
  record State(HardState hardState, SnapKey snapshot, long first, List<Entry> log) {
    static State of(Recovered r) {
      return new State(r.hardState(), SnapKey.of(r.snapshot()), r.firstIndex(), r.entries());
    }

    long last() {
      return first + log.size() - 1;
    }

    long termAt(long index) {
      return index >= first && index <= last() ? log.get((int) (index - first)).term() : 0;
    }

    State withHardState(HardState hs) {
      return new State(hs, snapshot, first, log);
    }

    State append(Entry e) {
      List<Entry> next = new ArrayList<>(log.subList(0, (int) (e.index() - first)));
      next.add(e);
      return new State(hardState, snapshot, first, List.copyOf(next));
    }

    /** Whether LogStore.saveSnapshot ignores s: at or below the stored snapshot's index. */
    boolean ignores(Snapshot s) {
      return snapshot != null && s.index() <= snapshot.index();
    }

    /**
     * LogStore.saveSnapshot's cut: keep the entries after s when the entry at s has its term; no
     * change when the store ignores s.
     */
    State cut(Snapshot s) {
      if (ignores(s)) return this;
      List<Entry> rest = termAt(s.index()) == s.term()
          ? log.subList((int) (s.index() - first + 1), log.size())
          : List.of();
      return new State(hardState, SnapKey.of(s), s.index() + 1, List.copyOf(rest));
    }
  }

  @Property(tries = 300)
  void storeMatchesMemoryModel(
      @ForAll("ops") List<Op> ops, @ForAll("segmentBytes") long segmentBytes) throws IOException {
    Options options = new Options(segmentBytes, 512);
    Path dir = Files.createTempDirectory("wal-prop");
    SegmentedLogStore store = SegmentedLogStore.open(dir, options);
    try {
      MemoryLogStore model = new MemoryLogStore();
      State cur = State.of(Recovered.empty());
      // States the writes passed through since the last sync, oldest (the synced one) first, and
      // the newest snapshot saved since then with the position of the state it produced (-1: none).
      List<State> sinceSync = new ArrayList<>(List.of(cur));
      Snapshot snapSinceSync = null;
      int snapAt = -1;
      long term = 1;
      boolean cutAfterSnapshot = false; // coverage, reported by jqwik
      boolean ignoredSnapshot = false;
      boolean compacted = false;
      SplittableRandom data = new SplittableRandom(ops.size());
      for (Op op : ops) {
        if (op instanceof Append a) {
          if (a.newTerm()) term++;
          long first = Math.max(cur.first(), cur.last() + 1 - a.back());
          List<Entry> batch = new ArrayList<>();
          for (int k = 0; k < a.count(); k++) {
            byte[] bytes = new byte[data.nextInt(60)];
            data.nextBytes(bytes);
            batch.add(new Entry(first + k, term, EntryType.values()[k % 3], bytes));
          }
          store.append(batch);
          model.append(batch);
          for (Entry e : batch) { // each record is a state a power cut may leave
            cur = cur.append(e);
            sinceSync.add(cur);
          }
        } else if (op instanceof Save s) {
          if (s.newTerm()) term++;
          String vote = s.vote() < 0 ? null : "n" + s.vote();
          HardState hs = cur.hardState();
          HardState next = new HardState(term, vote,
              Math.max(0, Math.min(cur.last(), hs.commit() + s.commitStep())));
          store.saveHardState(next);
          model.saveHardState(next);
          if (!next.equals(hs)) {
            cur = cur.withHardState(next);
            sinceSync.add(cur);
          }
        } else if (op instanceof SaveSnapshot s) {
          long index = Math.max(1, cur.last() + s.offset());
          long t = cur.termAt(index);
          if (!s.sameTerm() || t == 0) t = ++term;
          byte[] bytes = new byte[s.dataBytes()];
          data.nextBytes(bytes);
          Set<String> voters = index % 2 == 0 ? Set.of("n1", "n2", "n3") : Set.of("n1");
          Snapshot snap = new Snapshot(index, t, Configuration.ofVoters(voters), bytes);
          store.saveSnapshot(snap);
          model.saveSnapshot(snap);
          if (cur.ignores(snap)) {
            // Nothing written by either store. The model must not count it as the newest snapshot
            // since the sync: the durable file a power cut may bring back is the previous one.
            ignoredSnapshot = true;
            assertThat(store.snapshotIndex()).isEqualTo(cur.snapshot().index());
          } else {
            cur = cur.cut(snap);
            sinceSync.add(cur);
            snapSinceSync = snap;
            snapAt = sinceSync.size() - 1;
          }
          if (s.thenCompact()) {
            int segmentsBefore = store.segmentCount();
            store.compact(index);
            model.compact(index);
            compacted |= store.segmentCount() < segmentsBefore;
          }
        } else if (op instanceof Compact c) {
          int segmentsBefore = store.segmentCount();
          store.compact(cur.last() - c.back());
          model.compact(cur.last() - c.back());
          compacted |= store.segmentCount() < segmentsBefore;
        } else if (op instanceof Sync) {
          store.sync();
          model.sync();
          sinceSync = new ArrayList<>(List.of(cur));
          snapSinceSync = null;
          snapAt = -1;
        } else if (op instanceof Restart) {
          store.close(); // a clean close forces what is pending
          model.sync();
          store = SegmentedLogStore.open(dir, options);
          State got = State.of(store.recovered());
          assertThat(got).isEqualTo(State.of(model.recovered())).isEqualTo(cur);
          sinceSync = new ArrayList<>(List.of(cur));
          snapSinceSync = null;
          snapAt = -1;
        } else if (op instanceof PowerCut c) {
          cutAfterSnapshot |= snapSinceSync != null;
          Path active = store.activeSegmentForTest();
          long durable = store.activeDurableBytesForTest();
          store.flush(); // what a crash may or may not leave behind in the page cache
          store.abandonForTest();
          long size = Files.size(active);
          LogFiles.truncate(active, durable + (long) (c.fraction() * (size - durable)));
          store = SegmentedLogStore.open(dir, options);
          Recovered r = store.recovered();
          State got = State.of(r);
          assertThat(sinceSync.get(0)).isEqualTo(State.of(model.recovered()));
          List<State> allowed = new ArrayList<>();
          for (int k = 0; k < sinceSync.size(); k++) {
            allowed.add(k < snapAt ? sinceSync.get(k).cut(snapSinceSync) : sinceSync.get(k));
          }
          assertThat(allowed).contains(got);
          assertThat(r.firstIndex()).isEqualTo(r.snapshot() == null ? 1 : r.snapshot().index() + 1);
          // Restart the model from what the disk kept.
          model = new MemoryLogStore();
          if (r.snapshot() != null) model.saveSnapshot(r.snapshot());
          if (!r.entries().isEmpty()) model.append(r.entries());
          model.saveHardState(r.hardState());
          model.sync();
          assertThat(State.of(model.recovered())).isEqualTo(got);
          cur = got;
          sinceSync = new ArrayList<>(List.of(got));
          snapSinceSync = null;
          snapAt = -1;
        }
        assertThat(store.lastIndex()).isEqualTo(model.lastIndex()).isEqualTo(cur.last());
        assertThat(store.firstIndex()).isEqualTo(cur.first());
      }
      Statistics.label("power cut after an unsynced snapshot").collect(cutAfterSnapshot);
      Statistics.label("compaction deleted segments").collect(compacted);
      Statistics.label("snapshot at or below the stored one ignored").collect(ignoredSnapshot);
      store.close();
      model.sync();
      try (SegmentedLogStore last = SegmentedLogStore.open(dir, options)) {
        assertThat(State.of(last.recovered())).isEqualTo(State.of(model.recovered()));
      }
    } finally {
      store.close();
      LogFiles.deleteTree(dir);
    }
  }
}
