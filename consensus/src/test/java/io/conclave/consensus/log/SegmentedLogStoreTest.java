package io.conclave.consensus.log;

import static io.conclave.consensus.log.LogFiles.entries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.conclave.consensus.log.LogStore.Recovered;
import io.conclave.consensus.log.SegmentedLogStore.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edge tests of the durable log: each builds a log, damages or cuts its files the way a crash or a
 * bad disk would, reopens it and checks what recovery returns or that it refuses.
 */
class SegmentedLogStoreTest {
  private static final Options SMALL_SEGMENTS = Options.defaults().withSegmentBytesMax(1024);

  @TempDir Path tmp;

  private static Recovered reopen(Path dir) throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(dir)) {
      return s.recovered();
    }
  }

  /** A store with entries 1..count in term 1 and hard state (1, n1, count), synced and closed. */
  private static void build(Path dir, Options options, int count, int batch) throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(dir, options)) {
      for (int i = 1; i <= count; i += batch) {
        s.append(entries(i, Math.min(count, i + batch - 1), 1));
        s.saveHardState(new HardState(1, "n1", Math.min(count, i + batch - 1)));
        s.sync();
      }
    }
  }

  // ---- empty and missing ----

  @Test
  void missingDirIsCreatedAndRecoversEmpty() throws IOException {
    Path dir = tmp.resolve("a/b/wal");
    Recovered r = reopen(dir);
    assertThat(r).isEqualTo(Recovered.empty());
    assertThat(LogFiles.segments(dir)).hasSize(1);
  }

  @Test
  void emptyDirRecoversEmptyAndOpensAgain() throws IOException {
    assertThat(reopen(tmp)).isEqualTo(Recovered.empty());
    assertThat(reopen(tmp)).isEqualTo(Recovered.empty());
  }

  @Test
  void zeroByteOnlySegmentIsTornAndRecoversEmpty() throws IOException {
    Files.createFile(tmp.resolve(SegmentFormat.fileName(1)));
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      assertThat(s.recovered()).isEqualTo(Recovered.empty());
      s.append(entries(1, 3, 1));
      s.sync();
    }
    assertThat(reopen(tmp).entries()).isEqualTo(entries(1, 3, 1));
  }

  @Test
  void zeroByteOrPartialHeaderLastSegmentAfterOthersIsTorn() throws IOException {
    build(tmp, SMALL_SEGMENTS, 60, 7);
    int segments = LogFiles.segments(tmp).size();
    assertThat(segments).isGreaterThan(2);
    Path extra = tmp.resolve(SegmentFormat.fileName(segments + 1));
    for (int bytes : new int[] {0, 1, 20, SegmentFormat.HEADER_BYTES - 1}) {
      byte[] partial = new byte[bytes];
      byte[] magic = {0x43, 0x57, 0x41, 0x4C}; // a header cut short after its first bytes
      System.arraycopy(magic, 0, partial, 0, Math.min(bytes, magic.length));
      Files.write(extra, partial);
      try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
        assertThat(s.recovered().entries()).isEqualTo(entries(1, 60, 1));
        assertThat(s.recovered().hardState()).isEqualTo(new HardState(1, "n1", 60));
        assertThat(s.recoveryTruncatedBytes()).isEqualTo(bytes);
        // The torn one is deleted; the complete segment before it is active again.
        assertThat(s.segmentCount()).isEqualTo(segments);
        assertThat(extra).doesNotExist();
      }
    }
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      s.append(entries(61, 61, 2));
      s.sync();
    }
    assertThat(reopen(tmp).entries()).hasSize(61);
  }

  @Test
  void allZeroLastSegmentIsTornButGarbageHeaderRefuses() throws IOException {
    build(tmp, SMALL_SEGMENTS, 30, 5);
    int segments = LogFiles.segments(tmp).size();
    Path extra = tmp.resolve(SegmentFormat.fileName(segments + 1));
    Files.write(extra, new byte[100]); // blocks allocated, never written
    assertThat(reopen(tmp).entries()).isEqualTo(entries(1, 30, 1));
    assertThat(extra).doesNotExist();

    Path garbage = tmp.resolve(SegmentFormat.fileName(segments + 1));
    byte[] bytes = new byte[100];
    bytes[50] = 7;
    Files.write(garbage, bytes);
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(garbage.getFileName().toString())
        .hasMessageContaining("at byte 0")
        .hasMessageContaining("bad magic");
  }

  // ---- restart ----

  @Test
  void termAndVoteSurviveRestart() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      s.saveHardState(new HardState(7, "n3", 0));
      s.sync();
      s.abandonForTest(); // killed right after the sync: no clean close
    }
    Recovered r = reopen(tmp);
    assertThat(r.hardState()).isEqualTo(new HardState(7, "n3", 0));

    // A newer vote saved but never synced may be lost by a power cut; the synced one must not be.
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      long durable = s.activeDurableBytesForTest();
      s.saveHardState(new HardState(8, null, 0));
      s.flush();
      Path active = s.activeSegmentForTest();
      s.abandonForTest();
      LogFiles.truncate(active, durable);
    }
    assertThat(reopen(tmp).hardState()).isEqualTo(new HardState(7, "n3", 0));
  }

  @Test
  void hardStateWithoutVoteAndWithUnicodeVoteRoundTrips() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      s.saveHardState(new HardState(2, "nœud-β", 0));
      s.sync();
    }
    assertThat(reopen(tmp).hardState()).isEqualTo(new HardState(2, "nœud-β", 0));
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      s.saveHardState(new HardState(3, null, 0));
      s.sync();
    }
    assertThat(reopen(tmp).hardState()).isEqualTo(new HardState(3, null, 0));
  }

  @Test
  void suffixReplacementSurvivesRestart() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      s.append(entries(1, 10, 1));
      s.sync();
      s.append(entries(6, 8, 2)); // a new leader's log conflicts from 6 on (§5.3)
      s.saveHardState(new HardState(2, "n2", 5));
      s.sync();
      assertThat(s.lastIndex()).isEqualTo(8);
    }
    List<Entry> expected = new ArrayList<>(entries(1, 5, 1));
    expected.addAll(entries(6, 8, 2));
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      assertThat(s.recovered().entries()).isEqualTo(expected);
      assertThat(s.lastIndex()).isEqualTo(8);
      assertThat(s.lastTerm()).isEqualTo(2);
      s.append(entries(9, 9, 2));
      s.append(entries(1, 1, 3)); // replace everything
      s.sync();
    }
    assertThat(reopen(tmp).entries()).isEqualTo(entries(1, 1, 3));
  }

  @Test
  void appendValidatesAtTheEdge() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      s.append(entries(1, 3, 1));
      assertThatThrownBy(() -> s.append(entries(5, 6, 1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("gap: append at 5 after last 3");
      List<Entry> holey = List.of(Entry.noop(4, 1), Entry.noop(6, 1));
      assertThatThrownBy(() -> s.append(holey))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not contiguous: 6");
      assertThat(s.lastIndex()).isEqualTo(3); // nothing of a rejected batch was written
      assertThatThrownBy(() -> s.saveHardState(new HardState(1, "x".repeat(2000), 0)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("2000 bytes > 1024");
    }
  }

  @Test
  void secondOpenOfTheSameDirIsRefused() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      assertThatThrownBy(() -> SegmentedLogStore.open(tmp))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("in use by another open store");
      assertThat(s.lastIndex()).isZero();
    }
    assertThat(reopen(tmp)).isEqualTo(Recovered.empty()); // lock released on close
  }

  @Test
  void entryTypesAndLargeEntriesRoundTrip() throws IOException {
    byte[] big = new byte[3 << 20]; // larger than the write buffer and than a segment
    new SplittableRandom(1).nextBytes(big);
    List<Entry> written = List.of(
        Entry.noop(1, 1),
        new Entry(2, 1, EntryType.CONFIG, new byte[] {1, 2, 3}),
        Entry.command(3, 1, big),
        Entry.command(4, 2, new byte[0]));
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp,
        new Options(64 << 10, 4096))) {
      s.append(written);
      s.sync();
    }
    assertThat(reopen(tmp).entries()).isEqualTo(written);
  }

  // ---- torn tails and crashes ----

  /**
   * Cuts the file at every offset inside the last record: recovery keeps exactly the records before
   * it, truncates the rest, and the store goes on appending after the cut.
   */
  @Test
  void tornTailAtEveryOffsetOfTheLastRecordRecoversThePrefix() throws IOException {
    Path golden = tmp.resolve("golden");
    build(golden, Options.defaults(), 12, 4);
    Path segment = LogFiles.lastSegment(golden);
    List<Integer> offsets = LogFiles.recordOffsets(segment);
    int lastStart = offsets.get(offsets.size() - 1); // the hard state saved after entry 12
    int prevStart = offsets.get(offsets.size() - 2); // entry 12
    long size = Files.size(segment);
    for (int cut = prevStart; cut < size; cut++) {
      Path dir = tmp.resolve("cut-" + cut);
      LogFiles.copyDir(golden, dir);
      LogFiles.truncate(dir.resolve(segment.getFileName()), cut);
      boolean entryCut = cut < lastStart;
      try (SegmentedLogStore s = SegmentedLogStore.open(dir)) {
        Recovered r = s.recovered();
        assertThat(r.entries()).as("cut at %d", cut).isEqualTo(entries(1, entryCut ? 11 : 12, 1));
        assertThat(r.hardState()).as("cut at %d", cut).isEqualTo(new HardState(1, "n1", 8));
        // a torn prefix of nothing but zeros cannot be told from space written ahead: cut, not counted
        int start = entryCut ? prevStart : lastStart;
        byte[] torn = Arrays.copyOfRange(Files.readAllBytes(golden.resolve(segment.getFileName())), start, cut);
        long expectedCount = IntStream.range(0, torn.length).allMatch(i -> torn[i] == 0) ? 0 : cut - start;
        assertThat(s.recoveryTruncatedBytes()).as("cut at %d", cut).isEqualTo(expectedCount);
        s.append(entries(s.lastIndex() + 1, 20, 2));
        s.sync();
      }
      List<Entry> expected = new ArrayList<>(entries(1, entryCut ? 11 : 12, 1));
      expected.addAll(entries(entryCut ? 12 : 13, 20, 2));
      assertThat(reopen(dir).entries()).as("cut at %d", cut).isEqualTo(expected);
      LogFiles.deleteTree(dir);
    }
  }

  /**
   * Models a power cut between write and force: the synced size is recorded, more records are
   * handed to the OS but not forced, then the file is cut at points at or beyond the synced size.
   * Every synced entry must come back, nothing never written may appear, and what comes back must
   * be a prefix of the writes in order.
   */
  @Test
  void crashBetweenWriteAndForceKeepsEverySyncedEntry() throws IOException {
    Path golden = tmp.resolve("golden");
    long durable;
    long written;
    try (SegmentedLogStore s = SegmentedLogStore.open(golden)) {
      s.append(entries(1, 20, 1));
      s.saveHardState(new HardState(1, "n1", 20));
      s.sync();
      durable = s.activeDurableBytesForTest();
      s.append(entries(15, 30, 2)); // replaces 15..20, then extends
      s.saveHardState(new HardState(2, "n2", 25));
      s.flush(); // in the page cache, not forced
      written = s.activeWrittenBytesForTest(); // the file is longer: zeros written ahead
      assertThat(Files.size(s.activeSegmentForTest())).isGreaterThan(written);
      s.append(entries(31, 40, 2)); // only in the process's buffer: lost with it
      s.abandonForTest();
    }
    assertThat(written).isGreaterThan(durable);
    // nothing cut: the written records survive, and the zeros after them are not a torn tail
    Path uncut = tmp.resolve("uncut");
    LogFiles.copyDir(golden, uncut);
    try (SegmentedLogStore s = SegmentedLogStore.open(uncut)) {
      List<Entry> all = new ArrayList<>(entries(1, 14, 1));
      all.addAll(entries(15, 30, 2));
      assertThat(s.recovered().entries()).isEqualTo(all);
      assertThat(s.recoveryTruncatedBytes()).isZero();
    }
    List<Entry> synced = entries(1, 20, 1);
    List<List<Entry>> prefixes = new ArrayList<>();
    for (int k = 15; k <= 30; k++) {
      List<Entry> p = new ArrayList<>(entries(1, 14, 1));
      p.addAll(entries(15, k, 2));
      prefixes.add(p);
    }
    Path segment = LogFiles.lastSegment(golden);
    for (long cut = durable; cut <= written; cut += 7) {
      Path dir = tmp.resolve("cut-" + cut);
      LogFiles.copyDir(golden, dir);
      LogFiles.truncate(dir.resolve(segment.getFileName()), cut);
      Recovered r = reopen(dir);
      if (r.entries().size() == 20 && r.entries().get(19).term() == 1) {
        assertThat(r.entries()).as("cut at %d", cut).isEqualTo(synced);
        assertThat(r.hardState()).isEqualTo(new HardState(1, "n1", 20));
      } else {
        assertThat(prefixes).as("cut at %d", cut).contains(r.entries());
        boolean all = r.entries().size() == 30;
        assertThat(r.hardState()).isIn(new HardState(1, "n1", 20),
            all ? new HardState(2, "n2", 25) : new HardState(1, "n1", 20));
      }
      assertThat(r.entries()).as("cut at %d", cut).hasSizeLessThanOrEqualTo(30);
      LogFiles.deleteTree(dir);
    }
    Recovered whole = reopen(golden); // no cut: everything handed to the OS survives
    assertThat(whole.entries()).isEqualTo(prefixes.get(prefixes.size() - 1));
    assertThat(whole.hardState()).isEqualTo(new HardState(2, "n2", 25));
  }

  @Test
  void bigLengthInTheFinalRecordIsTornButMidFileRefuses() throws IOException {
    build(tmp.resolve("a"), Options.defaults(), 10, 10);
    Path seg = LogFiles.lastSegment(tmp.resolve("a"));
    List<Integer> offsets = LogFiles.recordOffsets(seg);
    byte[] huge = ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE).array();
    LogFiles.writeAt(seg, offsets.get(offsets.size() - 1), huge);
    assertThat(reopen(tmp.resolve("a")).entries()).isEqualTo(entries(1, 10, 1));

    build(tmp.resolve("b"), Options.defaults(), 10, 10);
    Path segB = LogFiles.lastSegment(tmp.resolve("b"));
    int third = LogFiles.recordOffsets(segB).get(3);
    LogFiles.writeAt(segB, third, huge);
    assertThatThrownBy(() -> reopen(tmp.resolve("b")))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(segB.getFileName().toString())
        .hasMessageContaining("at byte " + third)
        .hasMessageContaining("record length 2147483647 outside");
  }

  // ---- corruption before the tail ----

  /**
   * Flips each byte of a segment before its final record in turn (header included): recovery must
   * refuse every time, naming the file and the offset where the damaged header or record begins.
   */
  @Test
  void flippedByteBeforeTheTailRefusesNamingFileAndOffset() throws IOException {
    Path golden = tmp.resolve("golden");
    build(golden, Options.defaults(), 6, 3);
    Path segment = LogFiles.lastSegment(golden);
    List<Integer> offsets = LogFiles.recordOffsets(segment);
    int lastStart = offsets.get(offsets.size() - 1);
    byte[] original = Files.readAllBytes(segment);
    Path dir = tmp.resolve("damaged");
    LogFiles.copyDir(golden, dir);
    Path damaged = dir.resolve(segment.getFileName());
    for (int at = 0; at < lastStart; at++) {
      Files.write(damaged, original);
      LogFiles.flipByte(damaged, at);
      long recordStart = 0;
      for (int o : offsets) if (o <= at) recordStart = o;
      final int flipped = at;
      final long expectedOffset = recordStart;
      assertThatThrownBy(() -> SegmentedLogStore.open(dir).close())
          .as("byte %d flipped", flipped)
          .isInstanceOfSatisfying(CorruptLogException.class, e -> {
            assertThat(e.file()).isEqualTo(damaged);
            assertThat(e.offsetBytes()).isEqualTo(expectedOffset);
          })
          .hasMessageContaining(damaged.toString())
          .hasMessageContaining("at byte " + recordStart + ":");
    }
    Files.write(damaged, original);
    assertThat(reopen(dir).entries()).isEqualTo(entries(1, 6, 1)); // the undamaged copy still opens
  }

  @Test
  void flippedByteInTheFinalRecordIsATornTail() throws IOException {
    build(tmp, Options.defaults(), 5, 5);
    Path segment = LogFiles.lastSegment(tmp);
    List<Integer> offsets = LogFiles.recordOffsets(segment);
    LogFiles.flipByte(segment, offsets.get(offsets.size() - 1) + 12);
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      // Indistinguishable from a write torn by a crash: the final hard state is dropped.
      assertThat(s.recovered().entries()).isEqualTo(entries(1, 5, 1));
      assertThat(s.recovered().hardState()).isEqualTo(HardState.EMPTY);
      assertThat(s.recoveryTruncatedBytes()).isPositive();
    }
  }

  @Test
  void damagedFinalRecordOfAnEarlierSegmentRefuses() throws IOException {
    build(tmp, SMALL_SEGMENTS, 60, 7);
    List<Path> segs = LogFiles.segments(tmp);
    assertThat(segs.size()).isGreaterThan(2);
    Path first = segs.get(0);
    List<Integer> offsets = LogFiles.recordOffsets(first);
    int lastStart = offsets.get(offsets.size() - 1);
    LogFiles.flipByte(first, lastStart + 10);
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(first.toString() + " at byte " + lastStart + ":")
        .hasMessageContaining("not the last segment");

    LogFiles.flipByte(first, lastStart + 10); // repair, then cut the earlier segment short
    LogFiles.truncate(first, lastStart + 5);
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(first.toString() + " at byte " + lastStart + ":");
  }

  @Test
  void newerFormatVersionRefusesSayingSo() throws IOException {
    build(tmp, Options.defaults(), 3, 3);
    Path segment = LogFiles.lastSegment(tmp);
    LogFiles.writeAt(segment, 4, new byte[] {0, 2});
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(segment + " at byte 0: format version 2, this build reads version 1");
  }

  @Test
  void missingMiddleSegmentRefuses() throws IOException {
    build(tmp, SMALL_SEGMENTS, 60, 7);
    List<Path> segs = LogFiles.segments(tmp);
    Files.delete(segs.get(1));
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(segs.get(1).getFileName().toString())
        .hasMessageContaining("segment missing: found seq 1 then 3");
  }

  @Test
  void validRecordOfUnknownTypeRefusesEvenAtTheTail() throws IOException {
    build(tmp, Options.defaults(), 3, 3);
    Path segment = LogFiles.lastSegment(tmp);
    long size = Files.size(segment);
    ByteBuffer rec = ByteBuffer.allocate(SegmentFormat.FRAME_BYTES + 5);
    rec.putInt(5).putInt(0).put((byte) 9).putInt(42);
    rec.putInt(4, (int) SegmentFormat.recordCrc(rec, 0, 5));
    LogFiles.writeAt(segment, size, rec.array());
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining("at byte " + size + ": unknown record type 9");
  }

  @Test
  void validEntryThatLeavesAGapRefuses() throws IOException {
    build(tmp, Options.defaults(), 3, 3);
    Path segment = LogFiles.lastSegment(tmp);
    long size = Files.size(segment);
    ByteBuffer rec = ByteBuffer.allocate(100);
    SegmentFormat.putEntry(rec, Entry.noop(9, 1));
    LogFiles.writeAt(segment, size, java.util.Arrays.copyOf(rec.array(), rec.position()));
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining("entry index 9 leaves a gap after index 3");
  }

  // ---- segments ----

  @Test
  void segmentsRollAndRecoveryReplaysAcrossThem() throws IOException {
    List<Entry> expected = new ArrayList<>();
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      long term = 1;
      for (int round = 0; round < 40; round++) {
        long from = Math.max(1, s.lastIndex() - (round % 5 == 4 ? 3 : -1));
        if (from <= s.lastIndex()) term++;
        List<Entry> batch = entries(from, from + 5, term);
        s.append(batch);
        expected.subList((int) from - 1, expected.size()).clear();
        expected.addAll(batch);
        s.saveHardState(new HardState(term, "n" + (round % 3), from));
        s.sync();
      }
      assertThat(s.segmentCount()).isGreaterThan(5);
      assertThat(s.lastIndex()).isEqualTo(expected.size());
    }
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      assertThat(s.recovered().entries()).isEqualTo(expected);
      assertThat(s.recovered().firstIndex()).isEqualTo(1);
      assertThat(s.recovered().hardState().votedFor()).isEqualTo("n" + (39 % 3));
      assertThat(s.recoveryTruncatedBytes()).isZero();
    }
    for (Path seg : LogFiles.segments(tmp)) {
      assertThat(Files.size(seg)).as("%s", seg).isLessThanOrEqualTo(1024);
    }
  }

  @Test
  void newSegmentCarriesTheHardStateSoOldOnesCanBeDropped() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      s.saveHardState(new HardState(4, "n2", 0));
      for (int i = 1; i <= 200; i += 10) {
        s.append(entries(i, i + 9, 4));
        s.sync();
      }
      int before = s.segmentCount();
      int dropped = s.dropSegmentsBefore(150);
      assertThat(dropped).isPositive();
      assertThat(s.segmentCount()).isEqualTo(before - dropped);
      assertThat(s.firstIndex()).isBetween(2L, 150L);
      assertThatThrownBy(() -> s.append(entries(1, 1, 5)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("below the log start");
    }
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      Recovered r = s.recovered();
      assertThat(r.hardState()).isEqualTo(new HardState(4, "n2", 0));
      assertThat(r.firstIndex()).isBetween(2L, 150L);
      assertThat(r.entries()).isEqualTo(entries(r.firstIndex(), 200, 4));
      assertThat(s.lastTerm()).isEqualTo(4);
    }
  }

  @Test
  void suffixReplacedAcrossADroppedBoundaryStillRecovers() throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      for (int i = 1; i <= 60; i += 6) {
        s.append(entries(i, i + 5, 1));
        s.sync();
      }
      int segs = s.segmentCount();
      long base = s.lastIndex();
      // Force a roll, then rewrite entries that were written before it.
      while (s.segmentCount() == segs) {
        s.saveHardState(new HardState(s.hardState().term() + 1, null, 0));
      }
      s.append(entries(base - 2, base + 1, 9));
      s.sync();
      s.dropSegmentsBefore(base + 1);
      assertThat(s.segmentCount()).isEqualTo(1);
    }
    Recovered r = reopen(tmp);
    assertThat(r.firstIndex()).isEqualTo(58); // the rewrite at base - 2 now starts the log
    assertThat(r.entries()).isEqualTo(entries(58, 61, 9));
  }

  // ---- metrics ----

  @Test
  void metricsCountSyncsFsyncTimeAndBytes() throws IOException {
    Path active;
    long written;
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp)) {
      active = s.activeSegmentForTest();
      long created = s.bytesWritten(); // header and first hard state
      assertThat(created).isPositive().isLessThan(200);
      assertThat(Files.size(active)).as("zeros written ahead of the data")
          .isEqualTo(SegmentedLogStore.ALLOCATE_AHEAD_BYTES);
      for (int i = 1; i <= 30; i += 10) {
        s.append(entries(i, i + 9, 1));
        s.sync();
      }
      s.sync(); // nothing new: no fsync
      assertThat(s.syncCount()).isEqualTo(3);
      assertThat(s.fsyncCount()).isEqualTo(4); // the three syncs plus the segment's creation
      assertThat(s.fsyncNanosTotal()).isPositive().isGreaterThanOrEqualTo(s.fsyncNanosLast());
      written = s.bytesWritten(); // data only, not the zeros
    }
    assertThat(Files.size(active)).as("close cuts the zeros: the file ends on its last record").isEqualTo(written);
  }
}
