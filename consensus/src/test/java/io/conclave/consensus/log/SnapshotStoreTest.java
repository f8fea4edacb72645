package io.conclave.consensus.log;

import static io.conclave.consensus.log.LogFiles.entries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.conclave.consensus.log.LogStore.Recovered;
import io.conclave.consensus.log.SegmentedLogStore.Options;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.Snapshot;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edge tests of snapshots in the durable store: each saves snapshots, crashes or damages files the
 * way a power cut or a bad disk would, reopens and checks the snapshot and entries recovery returns,
 * or that it refuses naming the file.
 */
class SnapshotStoreTest {
  private static final Options SMALL_SEGMENTS = Options.defaults().withSegmentBytesMax(1024);
  private static final Configuration CONF = Configuration.ofVoters(Set.of("n1", "n2", "n3"));

  @TempDir Path tmp;

  private static Snapshot snapshot(long index, long term, int bytes) {
    byte[] data = new byte[bytes];
    new SplittableRandom(index * 31 + term).nextBytes(data);
    return new Snapshot(index, term, CONF, data);
  }

  private static Recovered reopen(Path dir) throws IOException {
    try (SegmentedLogStore s = SegmentedLogStore.open(dir, SMALL_SEGMENTS)) {
      return s.recovered();
    }
  }

  private static void assertSameSnapshot(Snapshot got, Snapshot want) {
    assertThat(got).isNotNull();
    assertThat(got.index()).isEqualTo(want.index());
    assertThat(got.term()).isEqualTo(want.term());
    assertThat(got.configuration()).isEqualTo(want.configuration());
    assertThat(got.data()).isEqualTo(want.data());
  }

  private static List<Path> files(Path dir, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
    }
  }

  /** Entries 1..count in term 1, synced, then the snapshot saved and synced; store left open. */
  private static SegmentedLogStore withSnapshot(Path dir, int count, Snapshot s) throws IOException {
    SegmentedLogStore store = SegmentedLogStore.open(dir, SMALL_SEGMENTS);
    store.append(entries(1, count, 1));
    store.saveHardState(new HardState(1, "n1", count));
    store.sync();
    store.saveSnapshot(s);
    store.sync();
    return store;
  }

  // ---- snapshot, restart ----

  @Test
  void snapshotThenRestartReturnsItAndTheEntriesAfterIt() throws IOException {
    Snapshot s = snapshot(20, 1, 5000);
    try (SegmentedLogStore store = withSnapshot(tmp, 30, s)) {
      assertThat(store.firstIndex()).isEqualTo(21);
      assertThat(store.lastIndex()).isEqualTo(30);
      store.append(entries(31, 35, 2));
      store.sync();
    }
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), s);
    assertThat(r.firstIndex()).isEqualTo(21);
    assertThat(r.entries()).isEqualTo(concat(entries(21, 30, 1), entries(31, 35, 2)));
    assertThat(r.hardState()).isEqualTo(new HardState(1, "n1", 30));
    assertThat(files(tmp, ".snap")).hasSize(1);
    // And again: the recovered store keeps appending after it.
    try (SegmentedLogStore store = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      assertThatThrownBy(() -> store.append(entries(20, 20, 2)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("snapshot covers it");
      store.append(entries(36, 36, 2));
      store.sync();
    }
    assertThat(reopen(tmp).entries()).hasSize(16).last().isEqualTo(entries(36, 36, 2).get(0));
  }

  @Test
  void snapshotAtTheLastIndexLeavesNoEntries() throws IOException {
    Snapshot s = snapshot(10, 1, 10);
    withSnapshot(tmp, 10, s).close();
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), s);
    assertThat(r.firstIndex()).isEqualTo(11);
    assertThat(r.entries()).isEmpty();
  }

  @Test
  void newerSnapshotReplacesTheOlderFile() throws IOException {
    Snapshot a = snapshot(10, 1, 100);
    Snapshot b = snapshot(25, 1, 200);
    try (SegmentedLogStore store = withSnapshot(tmp, 30, a)) {
      store.saveSnapshot(b);
      store.sync();
      assertThat(files(tmp, ".snap")).containsExactly(tmp.resolve(SnapshotFiles.fileName(2)));
    }
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), b);
    assertThat(r.entries()).isEqualTo(entries(26, 30, 1));
  }

  @Test
  void snapshotAtOrBelowTheStoredOneIsIgnored() throws IOException {
    // A snapshot the daemon took locally may reach the store after a newer one from the leader: it
    // must not cut the log back (the entries after the stored snapshot would go).
    Snapshot stored = snapshot(20, 1, 100);
    try (SegmentedLogStore store = withSnapshot(tmp, 30, stored)) {
      store.saveSnapshot(snapshot(15, 1, 50)); // below
      store.saveSnapshot(snapshot(20, 2, 50)); // same index (even another term: a duplicate)
      assertThat(store.snapshotIndex()).isEqualTo(20);
      assertThat(store.firstIndex()).isEqualTo(21);
      assertThat(store.lastIndex()).isEqualTo(30);
      store.sync();
      assertThat(files(tmp, ".snap")).containsExactly(tmp.resolve(SnapshotFiles.fileName(1)));
      assertThat(files(tmp, ".tmp")).isEmpty();
    }
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), stored);
    assertThat(r.entries()).isEqualTo(entries(21, 30, 1));

    // The model store behaves the same, before and after its sync.
    MemoryLogStore model = new MemoryLogStore();
    model.append(entries(1, 30, 1));
    model.saveSnapshot(stored);
    model.saveSnapshot(snapshot(15, 1, 50));
    assertThat(model.lastIndex()).isEqualTo(30);
    model.sync();
    model.saveSnapshot(snapshot(20, 2, 50));
    model.sync();
    assertSameSnapshot(model.recovered().snapshot(), stored);
    assertThat(model.recovered().firstIndex()).isEqualTo(21);
    assertThat(model.recovered().entries()).isEqualTo(entries(21, 30, 1));
  }

  // ---- a snapshot from a leader (InstallSnapshot) ----

  @Test
  void snapshotWithAnotherTermReplacesTheConflictingLog() throws IOException {
    // §7: the entry at the snapshot's index has term 1, the snapshot term 2: the whole log goes.
    Snapshot s = snapshot(8, 2, 300);
    try (SegmentedLogStore store = withSnapshot(tmp, 10, s)) {
      assertThat(store.firstIndex()).isEqualTo(9);
      assertThat(store.lastIndex()).isEqualTo(8);
      assertThat(store.lastTerm()).isEqualTo(2);
      store.append(entries(9, 12, 2));
      store.sync();
    }
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), s);
    assertThat(r.firstIndex()).isEqualTo(9);
    assertThat(r.entries()).isEqualTo(entries(9, 12, 2));
  }

  @Test
  void snapshotBeyondTheLogDropsItAll() throws IOException {
    Snapshot s = snapshot(50, 3, 300);
    try (SegmentedLogStore store = withSnapshot(tmp, 10, s)) {
      assertThatThrownBy(() -> store.append(entries(11, 11, 3)))
          .isInstanceOf(IllegalArgumentException.class);
      store.append(entries(51, 52, 3));
      store.sync();
    }
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), s);
    assertThat(r.firstIndex()).isEqualTo(51);
    assertThat(r.entries()).isEqualTo(entries(51, 52, 3));
  }

  // ---- crashes ----

  @Test
  void crashMidSnapshotWriteLeavesATempFileThatIsIgnoredAndDeleted() throws IOException {
    Snapshot a = snapshot(10, 1, 100);
    SegmentedLogStore store = withSnapshot(tmp, 20, a);
    // Snapshot 2 dies halfway through its data: the temp file holds a header and part of the data,
    // and the final name never appears (only a rename of a forced file creates it).
    SnapshotFiles.Writer w = SnapshotFiles.create(tmp, 2, 15, 1, CONF);
    w.write(new byte[100_000]);
    store.abandonForTest();
    Path temp = tmp.resolve(SnapshotFiles.tempName(2));
    assertThat(temp).exists();
    assertThat(tmp.resolve(SnapshotFiles.fileName(2))).doesNotExist();

    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), a);
    assertThat(r.entries()).isEqualTo(entries(11, 20, 1));
    assertThat(temp).doesNotExist();
    assertThat(files(tmp, ".snap")).containsExactly(tmp.resolve(SnapshotFiles.fileName(1)));
  }

  @Test
  void snapshotFileDurableButItsLogRecordLostIsRecoveredAndRecordedAgain() throws IOException {
    Snapshot a = snapshot(10, 1, 100);
    // Default segments: no roll forces the batch early, so the truncation below is a power cut.
    SegmentedLogStore store = SegmentedLogStore.open(tmp);
    store.append(entries(1, 20, 1));
    store.sync();
    store.saveSnapshot(a);
    store.sync();
    Path active = store.activeSegmentForTest();
    long durable = store.activeDurableBytesForTest();
    // The file of snapshot 2 is durable when saveSnapshot returns; the appends before it, its
    // record and the appends after it are lost with the unsynced tail.
    store.append(entries(21, 25, 1));
    store.saveSnapshot(snapshot(18, 1, 50));
    store.append(entries(26, 27, 1));
    store.flush();
    store.abandonForTest();
    LogFiles.truncate(active, durable);

    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), snapshot(18, 1, 50));
    assertThat(r.firstIndex()).isEqualTo(19);
    assertThat(r.entries()).isEqualTo(entries(19, 20, 1)); // the synced log, cut at 18
    // The cut was written to the log again: later appends replay after it.
    try (SegmentedLogStore s = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      s.append(entries(21, 22, 2));
      s.sync();
    }
    Recovered again = reopen(tmp);
    assertSameSnapshot(again.snapshot(), snapshot(18, 1, 50));
    assertThat(again.entries()).isEqualTo(concat(entries(19, 20, 1), entries(21, 22, 2)));
  }

  @Test
  void crashBeforeTheOlderSnapshotWasDeletedKeepsTheNewer() throws IOException {
    Snapshot a = snapshot(10, 1, 100);
    Snapshot b = snapshot(15, 1, 100);
    Path older = tmp.resolve(SnapshotFiles.fileName(1));
    byte[] olderBytes;
    try (SegmentedLogStore store = withSnapshot(tmp, 20, a)) {
      olderBytes = Files.readAllBytes(older);
      store.saveSnapshot(b);
      store.sync();
    }
    Files.write(older, olderBytes); // as if the crash came between rename and deletion
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), b);
    assertThat(older).doesNotExist();
  }

  @Test
  void damagedOlderSnapshotSupersededByAValidNewerOneIsDeleted() throws IOException {
    withSnapshot(tmp, 20, snapshot(10, 1, 100)).close();
    try (SegmentedLogStore store = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      store.saveSnapshot(snapshot(15, 1, 100));
      store.sync();
    }
    Path older = tmp.resolve(SnapshotFiles.fileName(1));
    Files.write(older, new byte[] {1, 2, 3});
    assertSameSnapshot(reopen(tmp).snapshot(), snapshot(15, 1, 100));
    assertThat(older).doesNotExist();
  }

  // ---- damage ----

  @Test
  void damagedSnapshotRefusesNamingTheFile() throws IOException {
    withSnapshot(tmp, 20, snapshot(10, 1, 1000)).close();
    Path file = tmp.resolve(SnapshotFiles.fileName(1));
    byte[] good = Files.readAllBytes(file);
    // A flipped byte anywhere (header, configuration, data, trailer) or a cut anywhere refuses.
    long[] flips = {0, 5, 17, 33, SnapshotFiles.HEADER_FIXED_BYTES + 2, 500, good.length - 13,
        good.length - 5, good.length - 1};
    for (long at : flips) {
      Files.write(file, good);
      LogFiles.flipByte(file, at);
      assertThatThrownBy(() -> reopen(tmp)).as("flip at %d", at)
          .isInstanceOfSatisfying(CorruptLogException.class, e -> assertThat(e.file()).isEqualTo(file))
          .hasMessageContaining(file.toString());
    }
    for (long size : new long[] {0, 10, SnapshotFiles.HEADER_FIXED_BYTES, 700, good.length - 1}) {
      Files.write(file, good);
      LogFiles.truncate(file, size);
      assertThatThrownBy(() -> reopen(tmp)).as("cut at %d", size)
          .isInstanceOfSatisfying(CorruptLogException.class, e -> assertThat(e.file()).isEqualTo(file));
    }
    Files.write(file, good);
    assertSameSnapshot(reopen(tmp).snapshot(), snapshot(10, 1, 1000));
  }

  @Test
  void damagedNewestSnapshotRefusesEvenWithAValidOlderOne() throws IOException {
    Snapshot a = snapshot(10, 1, 100);
    Path older = tmp.resolve(SnapshotFiles.fileName(1));
    byte[] olderBytes;
    try (SegmentedLogStore store = withSnapshot(tmp, 20, a)) {
      olderBytes = Files.readAllBytes(older);
      store.saveSnapshot(snapshot(15, 1, 100));
      store.sync();
    }
    Files.write(older, olderBytes);
    Path newer = tmp.resolve(SnapshotFiles.fileName(2));
    LogFiles.flipByte(newer, 60);
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOfSatisfying(CorruptLogException.class, e -> assertThat(e.file()).isEqualTo(newer))
        .hasMessageContaining("CRC");
    assertThat(older).exists(); // nothing is deleted on a refusal's way
  }

  @Test
  void missingSnapshotFileTheLogRecordsRefuses() throws IOException {
    withSnapshot(tmp, 20, snapshot(10, 1, 100)).close();
    Files.delete(tmp.resolve(SnapshotFiles.fileName(1)));
    assertThatThrownBy(() -> reopen(tmp))
        .isInstanceOf(CorruptLogException.class)
        .hasMessageContaining(SnapshotFiles.fileName(1)).hasMessageContaining("missing");
  }

  // ---- compaction ----

  @Test
  void compactionDropsWholeSegmentsTheSnapshotCovers() throws IOException {
    Snapshot s = snapshot(150, 1, 100);
    try (SegmentedLogStore store = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      for (int i = 1; i <= 200; i += 10) {
        store.append(entries(i, i + 9, 1));
        store.sync();
      }
      int before = store.segmentCount();
      assertThat(before).isGreaterThan(5);
      store.compact(100); // no snapshot yet: nothing goes
      assertThat(store.segmentCount()).isEqualTo(before);
      store.saveSnapshot(s);
      store.compact(100); // bounded by the argument
      int at100 = store.segmentCount();
      assertThat(at100).isLessThan(before);
      store.compact(1_000); // bounded by the snapshot
      assertThat(store.segmentCount()).isLessThan(at100);
      assertThat(LogFiles.segments(tmp)).hasSize(store.segmentCount());
      store.append(entries(201, 260, 2)); // rolls on; the segment with the snapshot record stays
      store.compact(1_000);
      store.sync();
    }
    List<Path> kept = LogFiles.segments(tmp);
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), s);
    assertThat(r.firstIndex()).isEqualTo(151);
    assertThat(r.entries()).isEqualTo(concat(entries(151, 200, 1), entries(201, 260, 2)));
    // Every deleted segment held only entries at or below 150.
    assertThat(firstBase(kept)).isLessThanOrEqualTo(150);
  }

  @Test
  void compactionAfterALaterSnapshotStillReplaysTheEarlierCut() throws IOException {
    // A snapshot record in a kept segment whose index lies below that segment's base.
    try (SegmentedLogStore store = SegmentedLogStore.open(tmp, SMALL_SEGMENTS)) {
      store.append(entries(1, 120, 1));
      store.sync();
      store.saveSnapshot(snapshot(30, 1, 10));
      store.append(entries(121, 200, 1));
      store.saveSnapshot(snapshot(100, 1, 10));
      store.compact(100);
      store.append(entries(201, 210, 1));
      store.sync();
    }
    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), snapshot(100, 1, 10));
    assertThat(r.entries()).isEqualTo(entries(101, 210, 1));
  }

  @Test
  void compactionKeepsTheSnapshotEntryInCaseItsRecordIsLost() throws IOException {
    // The snapshot sits exactly on a segment boundary (the index a segment starts after). If
    // compaction deleted the segment holding that entry and a power cut then lost the snapshot's
    // record, recovery could not tell that the entries after it were kept, and would drop them.
    SegmentedLogStore store = SegmentedLogStore.open(tmp, SMALL_SEGMENTS);
    long boundary = 0;
    int n = 0;
    while (boundary == 0 || n < boundary + 5) {
      n++;
      store.append(entries(n, n, 1));
      store.sync();
      if (boundary == 0 && LogFiles.segments(tmp).size() == 3) boundary = firstBase(
          LogFiles.segments(tmp).subList(2, 3));
    }
    assertThat(boundary).isGreaterThan(0);
    Path active = store.activeSegmentForTest();
    long durable = store.activeDurableBytesForTest();
    store.saveSnapshot(snapshot(boundary, 1, 10));
    store.compact(boundary);
    assertThat(store.activeSegmentForTest()).isEqualTo(active);
    store.abandonForTest(); // the record never left the buffer
    LogFiles.truncate(active, durable);

    Recovered r = reopen(tmp);
    assertSameSnapshot(r.snapshot(), snapshot(boundary, 1, 10));
    assertThat(r.entries()).isEqualTo(entries(boundary + 1, n, 1));
  }

  // ---- streaming helpers ----

  @Test
  void streamedSnapshotRoundTrips() throws IOException {
    SplittableRandom rnd = new SplittableRandom(7);
    ByteArrayOutputStream want = new ByteArrayOutputStream();
    Path file;
    try (SnapshotFiles.Writer w = SnapshotFiles.create(tmp, 3, 42, 5, CONF)) {
      for (int k = 0; k < 50; k++) { // odd sizes: below, at and above the writer's 64 KiB buffer
        byte[] chunk = new byte[rnd.nextInt(100_000)];
        rnd.nextBytes(chunk);
        w.write(chunk);
        want.write(chunk);
        w.write(k);
        want.write(k);
      }
      file = w.commit();
    }
    assertThat(file).isEqualTo(tmp.resolve(SnapshotFiles.fileName(3)));
    SnapshotFiles.Meta meta = SnapshotFiles.verify(file);
    assertThat(meta.index()).isEqualTo(42);
    assertThat(meta.term()).isEqualTo(5);
    assertThat(meta.configuration()).isEqualTo(CONF);
    assertThat(meta.dataBytes()).isEqualTo(want.size());
    try (InputStream in = SnapshotFiles.openData(file, meta)) {
      assertThat(in.readAllBytes()).isEqualTo(want.toByteArray());
    }
    assertThat(SnapshotFiles.read(file).data()).isEqualTo(want.toByteArray());
    LogFiles.flipByte(file, meta.dataOffset() + 12345);
    assertThatThrownBy(() -> SnapshotFiles.verify(file)).isInstanceOf(CorruptLogException.class)
        .hasMessageContaining("CRC");
  }

  @Test
  void abandonedWriterLeavesNoFile() throws IOException {
    try (SnapshotFiles.Writer w = SnapshotFiles.create(tmp, 1, 1, 1, CONF)) {
      w.write(new byte[10]);
    }
    try (Stream<Path> s = Files.list(tmp)) {
      assertThat(s.toList()).isEmpty();
    }
  }

  private static long firstBase(List<Path> segments) throws IOException {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(Files.readAllBytes(segments.get(0)));
    return b.getLong(16);
  }

  @SafeVarargs
  private static List<Entry> concat(List<Entry>... parts) {
    return Stream.of(parts).flatMap(List::stream).toList();
  }
}
