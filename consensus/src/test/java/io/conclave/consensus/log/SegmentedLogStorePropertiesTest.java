package io.conclave.consensus.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.log.LogStore.Recovered;
import io.conclave.consensus.log.SegmentedLogStore.Options;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Random sequences of append (extending or replacing a suffix), hard-state saves, syncs, clean
 * restarts and power cuts, run against {@link SegmentedLogStore} and against
 * {@link MemoryLogStore} as the model. After a clean restart the recovered state must equal the
 * model's exactly; after a power cut (buffer lost, the active segment cut anywhere at or beyond its
 * forced size) it must be one of the states the writes passed through since the last sync, in order:
 * never less than what was synced, never something that was not written.
 */
class SegmentedLogStorePropertiesTest {

  sealed interface Op {}

  /** Append {@code count} entries starting {@code back} entries before the end (0 = extend). */
  record Append(int back, int count, boolean newTerm) implements Op {}

  record Save(boolean newTerm, int vote, int commitStep) implements Op {}

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
    Arbitrary<Op> cut = Arbitraries.doubles().between(0, 1).map(PowerCut::new);
    return Arbitraries.frequencyOf(
            Tuple.of(6, append),
            Tuple.of(3, save),
            Tuple.of(4, Arbitraries.just(new Sync())),
            Tuple.of(1, Arbitraries.just(new Restart())),
            Tuple.of(1, cut))
        .list()
        .ofMinSize(1)
        .ofMaxSize(50);
  }

  @Provide
  Arbitrary<Long> segmentBytes() {
    return Arbitraries.of(1024L, 2048L, Options.SEGMENT_BYTES_MAX_DEFAULT);
  }

  /** The working state: what was written, durable or not. */
  private record State(HardState hardState, List<Entry> log) {}

  @Property(tries = 300)
  void storeMatchesMemoryModel(
      @ForAll("ops") List<Op> ops, @ForAll("segmentBytes") long segmentBytes) throws IOException {
    Options options = new Options(segmentBytes, 512);
    Path dir = Files.createTempDirectory("wal-prop");
    SegmentedLogStore store = SegmentedLogStore.open(dir, options);
    try {
      MemoryLogStore model = new MemoryLogStore();
      HardState hs = HardState.EMPTY;
      List<Entry> log = new ArrayList<>();
      // States the writes passed through since the last sync, oldest (the synced one) first.
      List<State> sinceSync = new ArrayList<>(List.of(new State(hs, List.copyOf(log))));
      long term = 1;
      SplittableRandom data = new SplittableRandom(ops.size());
      for (Op op : ops) {
        if (op instanceof Append a) {
          if (a.newTerm()) term++;
          long first = Math.max(1, log.size() + 1L - a.back());
          List<Entry> batch = new ArrayList<>();
          for (int k = 0; k < a.count(); k++) {
            byte[] bytes = new byte[data.nextInt(60)];
            data.nextBytes(bytes);
            batch.add(new Entry(first + k, term, EntryType.values()[k % 3], bytes));
          }
          store.append(batch);
          model.append(batch);
          for (Entry e : batch) { // each record is a state a power cut may leave
            log.subList((int) e.index() - 1, log.size()).clear();
            log.add(e);
            sinceSync.add(new State(hs, List.copyOf(log)));
          }
        } else if (op instanceof Save s) {
          if (s.newTerm()) term++;
          String vote = s.vote() < 0 ? null : "n" + s.vote();
          HardState next = new HardState(term, vote, Math.min(log.size(), hs.commit() + s.commitStep()));
          store.saveHardState(next);
          model.saveHardState(next);
          if (!next.equals(hs)) {
            hs = next;
            sinceSync.add(new State(hs, List.copyOf(log)));
          }
        } else if (op instanceof Sync) {
          store.sync();
          model.sync();
          sinceSync = new ArrayList<>(List.of(new State(hs, List.copyOf(log))));
        } else if (op instanceof Restart) {
          store.close(); // a clean close forces what is pending
          model.sync();
          store = SegmentedLogStore.open(dir, options);
          Recovered r = store.recovered();
          assertThat(r).isEqualTo(model.recovered());
          assertThat(r.hardState()).isEqualTo(hs);
          sinceSync = new ArrayList<>(List.of(new State(hs, List.copyOf(log))));
        } else if (op instanceof PowerCut c) {
          Path active = store.activeSegmentForTest();
          long durable = store.activeDurableBytesForTest();
          store.flush(); // what a crash may or may not leave behind in the page cache
          store.abandonForTest();
          long size = Files.size(active);
          LogFiles.truncate(active, durable + (long) (c.fraction() * (size - durable)));
          store = SegmentedLogStore.open(dir, options);
          Recovered r = store.recovered();
          State got = new State(r.hardState(), r.entries());
          assertThat(r.firstIndex()).isEqualTo(1);
          assertThat(sinceSync.get(0).log()).isEqualTo(model.recovered().entries());
          assertThat(sinceSync).contains(got);
          // Restart the model from what the disk kept.
          model = new MemoryLogStore();
          model.append(got.log());
          model.saveHardState(got.hardState());
          model.sync();
          hs = got.hardState();
          log = new ArrayList<>(got.log());
          sinceSync = new ArrayList<>(List.of(got));
        }
        assertThat(store.lastIndex()).isEqualTo(model.lastIndex()).isEqualTo(log.size());
      }
      store.close();
      model.sync();
      try (SegmentedLogStore last = SegmentedLogStore.open(dir, options)) {
        assertThat(last.recovered()).isEqualTo(model.recovered());
      }
    } finally {
      store.close();
      LogFiles.deleteTree(dir);
    }
  }
}
