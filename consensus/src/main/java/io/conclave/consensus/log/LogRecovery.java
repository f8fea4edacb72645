package io.conclave.consensus.log;

import static io.conclave.consensus.log.SegmentFormat.FRAME_BYTES;
import static io.conclave.consensus.log.SegmentFormat.HEADER_BYTES;
import static io.conclave.consensus.log.SegmentFormat.RECORD_BYTES_MAX;

import io.conclave.consensus.raft.Snapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Replays the segment files of a data dir into the log and hard state they describe, cutting away a
 * torn tail and refusing anything else that is damaged.
 *
 * <p>Rules (docs/storage.md): every segment but the last was forced in full before the next one was
 * created, so any damage in it is corruption. In the last segment, zeros from the first invalid
 * record to the end of the file are space the store allocated ahead of its writes: cut, not
 * counted as torn. Otherwise the first invalid record (short
 * header, length out of bounds or past the end of the file, CRC mismatch) is a torn tail, the
 * remains of a write that was never forced, provided no valid record starts anywhere after it;
 * if one does, the bad record sits in the middle of data the store may have acknowledged, and
 * recovery refuses. A record with a valid CRC that still does not make sense (unknown type, gap in
 * indexes) is never a torn write and always refuses.
 *
 * <p>Snapshots: a SNAPSHOT record drops what the snapshot covered, as the store did when it wrote
 * it. Then the newest snapshot file is read and checked; it must be the one the last SNAPSHOT record
 * names, or a newer one whose record was lost with the unsynced tail (the file is forced before its
 * record is even buffered), in which case its cut is applied now and {@link Result#snapshotMarkMissing}
 * tells the store to write the record again.
 */
final class LogRecovery {

  /**
   * What replay found, after the torn tail (if any) was cut away.
   *
   * @param segments surviving segments, oldest first; empty when the store must create its first
   * @param activeBytes size of the last surviving segment after truncation
   * @param activeRecords valid records in the last surviving segment
   * @param truncatedBytes bytes of torn tail removed (truncated or whole segments deleted)
   * @param nextSeq sequence number for the next segment to create
   * @param snapshot the newest snapshot, or null
   * @param snapshotSeq its file's number, 0 when none
   * @param snapshotMarkSegSeq the segment holding its SNAPSHOT record, 0 when none was found
   * @param snapshotMarkMissing true when the record was lost and the cut was applied here
   * @param snapshotMarkKept for a missing record: whether the entries after the snapshot were kept
   */
  record Result(
      HardState hardState,
      long firstIndex,
      List<Entry> entries,
      long lastTerm,
      List<Segment> segments,
      long activeBytes,
      int activeRecords,
      long truncatedBytes,
      long nextSeq,
      Snapshot snapshot,
      long snapshotSeq,
      long snapshotMarkSegSeq,
      boolean snapshotMarkMissing,
      boolean snapshotMarkKept) {}

  private final Path dir;
  private HardState hardState = HardState.EMPTY;
  // invariant: entries.get(k).index() == firstIndex + k
  private long firstIndex = 1;
  private final ArrayList<Entry> entries = new ArrayList<>();
  private long lastTerm;
  private final List<Segment> segments = new ArrayList<>();
  private long activeBytes;
  private int activeRecords;
  private long truncatedBytes;
  private long nextSeq = 1;
  // The last SNAPSHOT record replayed, and the segment it is in (0 = none).
  private SegmentFormat.SnapshotMark mark;
  private long markSegSeq;
  private long replayingSeq;
  // Entries at or below the last replayed snapshot's index cannot be appended after it.
  private long snapshotFloor;

  private LogRecovery(Path dir) {
    this.dir = dir;
  }

  static Result run(Path dir) throws IOException {
    LogRecovery r = new LogRecovery(dir);
    List<Path> files = segmentFiles(dir);
    for (int k = 0; k < files.size(); k++) {
      r.replay(files.get(k), SegmentFormat.seqOf(files.get(k)), k == files.size() - 1);
    }
    return r.finish();
  }

  /** Reconciles the replayed log with the snapshot files (see the class comment). */
  private Result finish() throws IOException {
    List<Path> temps = SnapshotFiles.temps(dir);
    for (Path temp : temps) Files.delete(temp); // never renamed, so never part of the state
    List<Path> snaps = SnapshotFiles.list(dir);
    Snapshot snapshot = null;
    long snapshotSeq = 0;
    if (!snaps.isEmpty()) {
      Path newest = snaps.get(0);
      snapshot = SnapshotFiles.read(newest); // damage refuses: it was forced before its rename
      snapshotSeq = SnapshotFiles.seqOf(newest);
      // Older files were superseded by this valid one (a crash came before their deletion).
      for (Path old : snaps.subList(1, snaps.size())) Files.delete(old);
    }
    long markSeq = mark == null ? 0 : mark.snapshotSeq();
    if (snapshotSeq < markSeq) {
      throw new CorruptLogException(dir.resolve(SnapshotFiles.fileName(markSeq)), 0,
          "snapshot file missing: the log records snapshot " + markSeq + " at index "
              + mark.index() + " term " + mark.term() + (snapshotSeq == 0 ? ", no snapshot file"
                  : ", the newest file is " + SnapshotFiles.fileName(snapshotSeq)));
    }
    boolean markMissing = snapshotSeq > markSeq;
    boolean kept = false;
    if (markMissing) {
      kept = cut(snapshot.index(), snapshot.term());
    } else if (snapshot != null
        && (snapshot.index() != mark.index() || snapshot.term() != mark.term())) {
      throw new CorruptLogException(dir.resolve(SnapshotFiles.fileName(snapshotSeq)), 16,
          "snapshot file holds " + snapshot.index() + "@" + snapshot.term()
              + " but the log recorded " + mark.index() + "@" + mark.term());
    }
    if (snaps.size() > 1 || !temps.isEmpty()) SegmentedLogStore.fsyncDir(dir);
    return new Result(hardState, firstIndex, Collections.unmodifiableList(entries), lastTerm,
        List.copyOf(segments), activeBytes, activeRecords, truncatedBytes, nextSeq, snapshot,
        snapshotSeq, markMissing ? 0 : markSegSeq, markMissing, kept);
  }

  /**
   * Applies a snapshot at {@code index}/{@code term} to the replayed log the way
   * {@link LogStore#saveSnapshot} defines it: keeps the entries after it when the entry at it has
   * its term, else drops them all.
   *
   * @return whether the entries after it were kept
   */
  private boolean cut(long index, long term) {
    boolean kept = index >= firstIndex && index <= lastIndex()
        && entries.get((int) (index - firstIndex)).term() == term;
    if (kept) {
      entries.subList(0, (int) (index - firstIndex + 1)).clear();
    } else {
      entries.clear();
      lastTerm = term;
    }
    firstIndex = index + 1;
    snapshotFloor = index;
    return kept;
  }

  /** Segment files sorted by sequence number; a gap in the numbering is corruption. */
  static List<Path> segmentFiles(Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> SegmentFormat.seqOf(p) >= 0)
          .sorted(Comparator.comparingLong(SegmentFormat::seqOf))
          .toList();
    }
    for (int k = 1; k < files.size(); k++) {
      long prev = SegmentFormat.seqOf(files.get(k - 1));
      long seq = SegmentFormat.seqOf(files.get(k));
      if (seq != prev + 1) {
        throw new CorruptLogException(dir.resolve(SegmentFormat.fileName(prev + 1)), 0,
            "segment missing: found seq " + prev + " then " + seq);
      }
    }
    return files;
  }

  private long lastIndex() {
    return firstIndex + entries.size() - 1;
  }

  private void replay(Path file, long seq, boolean last) throws IOException {
    long size;
    ByteBuffer buf;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      size = ch.size();
      if (size > Integer.MAX_VALUE) {
        throw new CorruptLogException(file, Integer.MAX_VALUE,
            "segment is " + size + " bytes; segments stay below 2 GiB");
      }
      // A mapping stays valid after the channel closes; nothing is allocated per untrusted length.
      buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
    }
    if (size < HEADER_BYTES) {
      if (!last) {
        throw new CorruptLogException(file, 0, "segment is " + size
            + " bytes, shorter than its " + HEADER_BYTES + "-byte header, and is not the last one");
      }
      dropTornSegment(file, seq, size);
      return;
    }
    SegmentFormat.Header h;
    try {
      h = SegmentFormat.readHeader(buf, file);
    } catch (CorruptLogException e) {
      // A crash while creating the last segment can leave its blocks allocated but never written.
      if (last && allZero(buf)) {
        dropTornSegment(file, seq, size);
        return;
      }
      throw e;
    }
    checkHeader(file, seq, h);
    replayingSeq = seq;
    int end = (int) size;
    int pos = HEADER_BYTES;
    int records = 0;
    boolean preallocated = false; // zeros after the last record: space the store allocated ahead
    while (pos < end) {
      String bad = checkFrame(buf, pos, end);
      if (bad != null) {
        if (!last) throw new CorruptLogException(file, pos, bad + " (not the last segment)");
        if (allZero(buf, pos, end)) {
          preallocated = true;
          break;
        }
        int next = findValidRecord(buf, pos + 1, end);
        if (next >= 0) {
          throw new CorruptLogException(file, pos, bad + "; a valid record follows at byte " + next);
        }
        break; // torn tail: nothing valid after it
      }
      int length = buf.getInt(pos);
      applyRecord(buf, pos, length, file, records);
      pos += FRAME_BYTES + length;
      records++;
    }
    if (records == 0) {
      if (!last) {
        throw new CorruptLogException(file, HEADER_BYTES,
            "segment has no record; every segment starts with a hard state");
      }
      dropTornSegment(file, seq, size);
      return;
    }
    if (pos < end) {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.truncate(pos);
        ch.force(true);
      }
      if (!preallocated) {
        truncatedBytes += end - pos;
      }
    }
    segments.add(new Segment(file, seq, h.baseIndex(), h.baseTerm()));
    activeBytes = pos;
    activeRecords = records;
    nextSeq = seq + 1;
  }

  private void checkHeader(Path file, long seq, SegmentFormat.Header h)
      throws CorruptLogException {
    if (h.seq() != seq) {
      throw new CorruptLogException(file, 0,
          "header says seq " + h.seq() + " but the file name says " + seq);
    }
    if (segments.isEmpty()) {
      firstIndex = h.baseIndex() + 1;
      lastTerm = h.baseTerm();
    } else if (h.baseIndex() != lastIndex() || h.baseTerm() != lastTerm) {
      throw new CorruptLogException(file, 0, "header base index " + h.baseIndex() + " term "
          + h.baseTerm() + ", but the segments before it end at index " + lastIndex() + " term "
          + lastTerm);
    }
  }

  /**
   * A last segment with no valid record was being created when the process died: it holds nothing
   * that was ever forced (creation forces header and first record before anything else is written).
   */
  private void dropTornSegment(Path file, long seq, long size) throws IOException {
    if (segments.isEmpty() && seq != 1) {
      // Older segments were deleted after a snapshot, so this one carried the log's base.
      throw new CorruptLogException(file, 0, "the only segment (seq " + seq
          + ") has no valid record, so the log's base index and hard state are lost");
    }
    Files.delete(file);
    SegmentedLogStore.fsyncDir(dir);
    truncatedBytes += size;
    nextSeq = seq;
  }

  /** Why the record frame at {@code pos} is invalid, or null when its length and CRC are sound. */
  private static String checkFrame(ByteBuffer buf, int pos, int end) {
    int left = end - pos;
    if (left < FRAME_BYTES) {
      return "incomplete record frame: " + left + " of " + FRAME_BYTES + " bytes";
    }
    int length = buf.getInt(pos);
    if (length < 1 || length > RECORD_BYTES_MAX) {
      return "record length " + length + " outside [1, " + RECORD_BYTES_MAX + "]";
    }
    if (length > left - FRAME_BYTES) {
      return "record length " + length + " runs past the end of the file ("
          + (left - FRAME_BYTES) + " bytes left)";
    }
    long stored = Integer.toUnsignedLong(buf.getInt(pos + 4));
    long computed = SegmentFormat.recordCrc(buf, pos, length);
    if (stored != computed) {
      return String.format("record CRC 0x%08x does not match computed 0x%08x", stored, computed);
    }
    return null;
  }

  /** Offset of the first sound record frame of a known type at or after {@code from}, or -1. */
  private static int findValidRecord(ByteBuffer buf, int from, int end) {
    for (int q = from; q + FRAME_BYTES < end; q++) {
      int length = buf.getInt(q);
      if (length < 1 || length > RECORD_BYTES_MAX || length > end - q - FRAME_BYTES) continue;
      byte type = buf.get(q + FRAME_BYTES);
      if (type != SegmentFormat.TYPE_ENTRY && type != SegmentFormat.TYPE_HARD_STATE
          && type != SegmentFormat.TYPE_SNAPSHOT) {
        continue;
      }
      if (checkFrame(buf, q, end) == null) return q;
    }
    return -1;
  }

  private static boolean allZero(ByteBuffer buf) {
    return allZero(buf, 0, buf.limit());
  }

  private static boolean allZero(ByteBuffer buf, int from, int to) {
    for (int i = from; i < to; i++) {
      if (buf.get(i) != 0) return false;
    }
    return true;
  }

  private void applyRecord(ByteBuffer buf, int pos, int length, Path file, int recordNo)
      throws CorruptLogException {
    byte type = buf.get(pos + FRAME_BYTES);
    int payload = pos + FRAME_BYTES + 1;
    int payloadBytes = length - 1;
    if (recordNo == 0 && type != SegmentFormat.TYPE_HARD_STATE) {
      throw new CorruptLogException(file, pos, "first record of a segment has type " + type
          + ", expected a hard state (" + SegmentFormat.TYPE_HARD_STATE + ")");
    }
    switch (type) {
      case SegmentFormat.TYPE_ENTRY -> applyEntry(readEntry(buf, payload, payloadBytes, file, pos),
          file, pos);
      case SegmentFormat.TYPE_HARD_STATE ->
          hardState = readHardState(buf, payload, payloadBytes, file, pos);
      case SegmentFormat.TYPE_SNAPSHOT -> applyMark(readMark(buf, payload, payloadBytes, file, pos),
          file, pos);
      default -> throw new CorruptLogException(file, pos, "unknown record type " + type
          + " with a valid CRC (written by a newer version?)");
    }
  }

  private static Entry readEntry(ByteBuffer buf, int at, int bytes, Path file, int pos)
      throws CorruptLogException {
    if (bytes < SegmentFormat.ENTRY_FIXED_BYTES) {
      throw new CorruptLogException(file, pos, "entry record payload " + bytes + " bytes < "
          + SegmentFormat.ENTRY_FIXED_BYTES);
    }
    long index = buf.getLong(at);
    long term = buf.getLong(at + 8);
    int code = Byte.toUnsignedInt(buf.get(at + 16));
    EntryType type = EntryType.fromCode(code);
    if (type == null || index < 1 || term < 1) {
      throw new CorruptLogException(file, pos,
          "invalid entry: index " + index + " term " + term + " type code " + code);
    }
    // Bounded: the record frame was checked against the file size and RECORD_BYTES_MAX.
    byte[] data = new byte[bytes - SegmentFormat.ENTRY_FIXED_BYTES];
    buf.get(at + SegmentFormat.ENTRY_FIXED_BYTES, data);
    return new Entry(index, term, type, data);
  }

  private static HardState readHardState(ByteBuffer buf, int at, int bytes, Path file, int pos)
      throws CorruptLogException {
    if (bytes < SegmentFormat.HARD_STATE_FIXED_BYTES) {
      throw new CorruptLogException(file, pos, "hard state payload " + bytes + " bytes < "
          + SegmentFormat.HARD_STATE_FIXED_BYTES);
    }
    long term = buf.getLong(at);
    long commit = buf.getLong(at + 8);
    int votedForBytes = buf.getInt(at + 16);
    int rest = bytes - SegmentFormat.HARD_STATE_FIXED_BYTES;
    boolean sound = votedForBytes == -1
        ? rest == 0
        : votedForBytes >= 0 && votedForBytes <= SegmentFormat.VOTED_FOR_BYTES_MAX
            && votedForBytes == rest;
    if (!sound || term < 0 || commit < 0) {
      throw new CorruptLogException(file, pos, "invalid hard state: term " + term + " commit "
          + commit + " votedFor length " + votedForBytes + " in a payload of " + bytes + " bytes");
    }
    String votedFor = null;
    if (votedForBytes >= 0) {
      byte[] raw = new byte[votedForBytes];
      buf.get(at + SegmentFormat.HARD_STATE_FIXED_BYTES, raw);
      votedFor = new String(raw, StandardCharsets.UTF_8);
    }
    return new HardState(term, votedFor, commit);
  }

  private static SegmentFormat.SnapshotMark readMark(ByteBuffer buf, int at, int bytes, Path file,
      int pos) throws CorruptLogException {
    if (bytes != SegmentFormat.SNAPSHOT_MARK_BYTES) {
      throw new CorruptLogException(file, pos, "snapshot record payload " + bytes + " bytes != "
          + SegmentFormat.SNAPSHOT_MARK_BYTES);
    }
    long seq = buf.getLong(at);
    long index = buf.getLong(at + 8);
    long term = buf.getLong(at + 16);
    byte kept = buf.get(at + 24);
    if (seq < 1 || index < 1 || term < 1 || (kept != 0 && kept != 1)) {
      throw new CorruptLogException(file, pos, "invalid snapshot record: seq " + seq + " index "
          + index + " term " + term + " kept " + kept);
    }
    return new SegmentFormat.SnapshotMark(seq, index, term, kept == 1);
  }

  /**
   * Replays a snapshot's cut. Entries up to it may already be gone with dropped segments; the rest of
   * the log from {@code firstIndex} is what the store held when it wrote the record.
   */
  private void applyMark(SegmentFormat.SnapshotMark m, Path file, int pos)
      throws CorruptLogException {
    if (mark != null && m.snapshotSeq() <= mark.snapshotSeq()) {
      throw new CorruptLogException(file, pos, "snapshot record seq " + m.snapshotSeq()
          + " after seq " + mark.snapshotSeq());
    }
    if (m.kept() && m.index() >= firstIndex) {
      long have = m.index() <= lastIndex() ? entries.get((int) (m.index() - firstIndex)).term() : 0;
      if (have != m.term()) {
        throw new CorruptLogException(file, pos, "snapshot record at " + m.index() + "@" + m.term()
            + " says the entries after it were kept, but the log holds "
            + (have == 0 ? "no entry there (last index " + lastIndex() + ")" : "term " + have));
      }
    }
    if (m.kept()) {
      if (m.index() >= firstIndex) {
        entries.subList(0, (int) (m.index() - firstIndex + 1)).clear();
        firstIndex = m.index() + 1;
      }
      snapshotFloor = m.index();
    } else {
      entries.clear();
      firstIndex = m.index() + 1;
      lastTerm = m.term();
      snapshotFloor = m.index();
    }
    mark = m;
    markSegSeq = replayingSeq;
  }

  private void applyEntry(Entry e, Path file, int pos) throws CorruptLogException {
    long index = e.index();
    if (index <= snapshotFloor) {
      throw new CorruptLogException(file, pos, "entry index " + index
          + " at or below the snapshot saved before it at " + snapshotFloor);
    }
    if (index > lastIndex() + 1) {
      throw new CorruptLogException(file, pos,
          "entry index " + index + " leaves a gap after index " + lastIndex());
    }
    if (index < firstIndex) {
      // Only after older segments were deleted: this segment rewrote a suffix that began in one of
      // them, so the log now starts here.
      entries.clear();
      firstIndex = index;
    } else {
      entries.subList((int) (index - firstIndex), entries.size()).clear();
    }
    entries.add(e);
    lastTerm = e.term();
  }
}
