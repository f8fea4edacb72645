package io.conclave.consensus.log;

import io.conclave.consensus.raft.Snapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The durable {@link LogStore}: an append-only log of CRC32C-framed records in segment files
 * ({@code wal-<seq>.wal}) in one directory. The format and the recovery rules are in
 * {@link SegmentFormat} and docs/storage.md.
 *
 * <p>Writes go to an in-memory buffer; {@link #sync()} hands the buffer to the OS and forces the
 * active segment once (group commit: one fsync per Raft Ready, however many entries it holds).
 * Nothing is durable before {@code sync()} returns, though a full buffer or a segment roll may write
 * (and a roll may force) earlier. A segment is rolled when the next record would take it past
 * {@link Options#segmentBytesMax()}: the old one is forced in full, the new one starts with the
 * current hard state, and it is forced and its directory entry synced before anything else goes
 * into it. So every segment but the last is complete, and only the last can have a torn tail.
 *
 * <p>Snapshots ({@link #saveSnapshot}) go to their own files ({@link SnapshotFiles}), forced and
 * renamed into place before the call returns; a SNAPSHOT record in the log marks where they were
 * saved among the appends, so replay drops exactly the entries the store dropped. {@link #compact}
 * then deletes whole segments the snapshot covers.
 *
 * <p>Single-threaded, like every {@link LogStore}, except that the metric getters may be read from
 * any thread. After an IO error the store is failed: the OS
 * may have dropped the dirty pages it could not write (a retried fsync can succeed without them),
 * so every later call throws and the process must restart and recover from what is on disk.
 */
public final class SegmentedLogStore implements LogStore {

  /**
   * Tuning for a store; validated once in the constructor, reporting every problem together.
   *
   * @param segmentBytesMax roll to a new segment when the next record would take the active one
   *     past this size (a single record larger than it gets a segment of its own). Default 64 MiB.
   *     Larger means fewer files and rolls (each roll costs two extra fsyncs) but coarser deletion
   *     after snapshots, and a longer replay of the last segment. Range 1 KiB to 1 GiB.
   * @param writeBufferBytes records are encoded into a buffer of this size and written to the OS
   *     when it fills or on {@link #sync()}. Default 1 MiB; a batch larger than it costs extra write
   *     calls (not extra fsyncs). Range 512 B to 64 MiB.
   */
  public record Options(long segmentBytesMax, int writeBufferBytes) {
    public static final long SEGMENT_BYTES_MAX_DEFAULT = 64L << 20;
    public static final int WRITE_BUFFER_BYTES_DEFAULT = 1 << 20;

    public Options {
      List<String> problems = new ArrayList<>();
      if (segmentBytesMax < 1024 || segmentBytesMax > 1L << 30) {
        problems.add("segmentBytesMax " + segmentBytesMax + " outside [1024, " + (1L << 30) + "]");
      }
      if (writeBufferBytes < 512 || writeBufferBytes > 64 << 20) {
        problems.add("writeBufferBytes " + writeBufferBytes + " outside [512, " + (64 << 20) + "]");
      }
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException("invalid log store options: " + problems);
      }
    }

    public static Options defaults() {
      return new Options(SEGMENT_BYTES_MAX_DEFAULT, WRITE_BUFFER_BYTES_DEFAULT);
    }

    public Options withSegmentBytesMax(long bytes) {
      return new Options(bytes, writeBufferBytes);
    }
  }

  static final String LOCK_FILE = "wal.lock";

  private final Path dir;
  private final Options options;
  private final Recovered recovered;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final ByteBuffer buffer;

  private final List<Segment> segments; // oldest first; the last one is active
  private FileChannel active;
  // invariant: activeDurableBytes <= activeWrittenBytes <= activeBytes
  private long activeBytes; // header + every record encoded into it, buffered or not
  private long activeWrittenBytes; // handed to the OS
  private long activeDurableBytes; // forced
  private long activeAllocatedBytes; // the file's size: written bytes, then zeros written ahead
  private int activeRecords;

  // invariant: firstIndex <= lastIndex + 1; with a snapshot, firstIndex == snapshotIndex + 1
  private long firstIndex;
  private long lastIndex;
  private long lastTerm;
  private HardState hardState;
  private final TermRuns terms;

  // The newest snapshot: its file's number (0 = none), index and term, and the segment holding its
  // SNAPSHOT record, which compaction never deletes (recovery needs the record to redo the cut).
  private long snapshotSeq;
  private long snapshotIndex;
  private long snapshotTerm;
  private long snapshotMarkSegSeq;

  private IOException failure;
  private boolean closed;

  // Metrics are volatile so a metrics registry may read them from another thread; only the store's
  // own thread writes them.
  private volatile long syncCount;
  private volatile long fsyncCount;
  private volatile long fsyncNanosTotal;
  private volatile long fsyncNanosLast;
  private volatile long bytesWritten;
  private volatile int segmentCount;
  private final long recoveryTruncatedBytes;

  /** Opens (creating if missing) the log in {@code dir} with default options. */
  public static SegmentedLogStore open(Path dir) throws IOException {
    return open(dir, Options.defaults());
  }

  /**
   * Opens the log in {@code dir}, creating the directory if it is missing, and recovers it.
   *
   * @throws CorruptLogException when the log is damaged anywhere but a torn tail
   * @throws IOException when the directory is locked by another open store or cannot be used
   */
  public static SegmentedLogStore open(Path dir, Options options) throws IOException {
    Objects.requireNonNull(options, "options");
    Path abs = dir.toAbsolutePath();
    if (!Files.isDirectory(abs)) {
      Files.createDirectories(abs);
      if (abs.getParent() != null) fsyncDir(abs.getParent());
    }
    FileChannel lockChannel = FileChannel.open(abs.resolve(LOCK_FILE),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      lockChannel.close();
      throw new IOException("log dir " + abs + " is in use by another open store (" + LOCK_FILE
          + " is locked)");
    }
    try {
      return new SegmentedLogStore(abs, options, lockChannel, lock, LogRecovery.run(abs));
    } catch (IOException | RuntimeException e) {
      lockChannel.close(); // releases the lock
      throw e;
    }
  }

  private SegmentedLogStore(Path dir, Options options, FileChannel lockChannel, FileLock lock,
      LogRecovery.Result r) throws IOException {
    this.dir = dir;
    this.options = options;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.buffer = ByteBuffer.allocate(options.writeBufferBytes());
    this.recovered = new Recovered(r.hardState(), r.snapshot(), r.firstIndex(), r.entries());
    this.recoveryTruncatedBytes = r.truncatedBytes();
    this.segments = new ArrayList<>(r.segments());
    this.firstIndex = r.firstIndex();
    this.lastIndex = r.firstIndex() + r.entries().size() - 1;
    this.lastTerm = r.lastTerm();
    this.hardState = r.hardState();
    this.terms = new TermRuns(r.firstIndex(), r.entries());
    if (r.snapshot() != null) {
      snapshotSeq = r.snapshotSeq();
      snapshotIndex = r.snapshot().index();
      snapshotTerm = r.snapshot().term();
      snapshotMarkSegSeq = r.snapshotMarkSegSeq();
    }
    if (segments.isEmpty()) {
      createSegment(r.nextSeq());
    } else {
      Segment last = segments.get(segments.size() - 1);
      active = FileChannel.open(last.path(), StandardOpenOption.WRITE);
      active.position(r.activeBytes());
      activeBytes = activeWrittenBytes = activeDurableBytes = activeAllocatedBytes = r.activeBytes();
      activeRecords = r.activeRecords();
    }
    segmentCount = segments.size();
    if (r.snapshotMarkMissing()) {
      // The file was forced but its record was lost with the unsynced tail: write it again, so later
      // appends replay after the cut, before anything else is appended.
      writeSnapshotMark(new SegmentFormat.SnapshotMark(snapshotSeq, snapshotIndex, snapshotTerm,
          r.snapshotMarkKept()));
      flush();
      force(active);
      activeDurableBytes = activeWrittenBytes;
    }
  }

  @Override
  public Recovered recovered() {
    return recovered;
  }

  @Override
  public void append(List<Entry> entries) {
    checkUsable();
    if (entries.isEmpty()) return;
    long first = entries.get(0).index();
    if (first > lastIndex + 1) {
      throw new IllegalArgumentException("gap: append at " + first + " after last " + lastIndex);
    }
    if (first < firstIndex) {
      throw new IllegalArgumentException("append at " + first + " below the log start "
          + firstIndex + " (a snapshot covers it, or older segments were dropped)");
    }
    // Validate the whole batch before writing any of it.
    for (int k = 0; k < entries.size(); k++) {
      Entry e = entries.get(k);
      if (e.index() != first + k) {
        throw new IllegalArgumentException(
            "entries not contiguous: " + e.index() + " at position " + k + " after " + first);
      }
      if (e.data().length > SegmentFormat.ENTRY_DATA_BYTES_MAX) {
        throw new IllegalArgumentException("entry " + e.index() + " data " + e.data().length
            + " bytes > " + SegmentFormat.ENTRY_DATA_BYTES_MAX);
      }
    }
    try {
      for (Entry e : entries) {
        int recordBytes = SegmentFormat.entryRecordBytes(e);
        maybeRoll(recordBytes);
        ByteBuffer target = target(recordBytes);
        SegmentFormat.putEntry(target, e);
        finishRecord(target, recordBytes);
        // Per record, so a roll mid-batch gives the new segment the right base.
        lastIndex = e.index();
        lastTerm = e.term();
        terms.append(e.index(), e.term());
      }
    } catch (IOException e) {
      throw fail(e);
    }
  }

  @Override
  public void saveHardState(HardState state) {
    Objects.requireNonNull(state, "state");
    checkUsable();
    if (state.equals(hardState)) return;
    byte[] votedFor = SegmentFormat.votedForBytes(state);
    if (votedFor != null && votedFor.length > SegmentFormat.VOTED_FOR_BYTES_MAX) {
      throw new IllegalArgumentException("votedFor is " + votedFor.length + " bytes > "
          + SegmentFormat.VOTED_FOR_BYTES_MAX);
    }
    try {
      int recordBytes = SegmentFormat.hardStateRecordBytes(votedFor);
      maybeRoll(recordBytes);
      ByteBuffer target = target(recordBytes);
      SegmentFormat.putHardState(target, state, votedFor);
      finishRecord(target, recordBytes);
      hardState = state;
    } catch (IOException e) {
      throw fail(e);
    }
  }

  @Override
  public void sync() {
    checkUsable();
    try {
      flush();
      if (activeDurableBytes == activeWrittenBytes) return; // nothing new since the last force
      force(active);
      activeDurableBytes = activeWrittenBytes;
      syncCount++;
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Writes {@code s} to its own file and makes that durable before returning (temp file, fsync,
   * atomic rename, directory fsync), then drops the entries it covers: all of them when the stored
   * entry at {@code s.index()} has another term or is missing, else those up to its index. Older
   * snapshot files are deleted once this one is durable. The SNAPSHOT record that orders the cut
   * among the appends is buffered like an append and durable at the next {@link #sync()}; if a
   * crash loses it, recovery finds the newer file and redoes the cut. Costs one write of the data
   * and two fsyncs (file, directory). A snapshot at or below the stored one's index is ignored
   * (nothing written): see {@link LogStore#saveSnapshot}.
   */
  @Override
  public void saveSnapshot(Snapshot s) {
    Objects.requireNonNull(s, "snapshot");
    checkUsable();
    if (snapshotSeq != 0 && s.index() <= snapshotIndex) return;
    long seq = snapshotSeq + 1;
    boolean kept = terms.termAt(s.index()) == s.term();
    try {
      SnapshotFiles.write(dir, seq, s);
      writeSnapshotMark(new SegmentFormat.SnapshotMark(seq, s.index(), s.term(), kept));
      if (kept) {
        terms.dropThrough(s.index());
      } else {
        terms.reset(s.index() + 1);
        lastIndex = s.index();
        lastTerm = s.term();
      }
      firstIndex = s.index() + 1;
      long previous = snapshotSeq;
      snapshotSeq = seq;
      snapshotIndex = s.index();
      snapshotTerm = s.term();
      // No directory fsync: if the deletion is lost, recovery deletes the superseded file again.
      if (previous > 0) Files.deleteIfExists(dir.resolve(SnapshotFiles.fileName(previous)));
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Deletes whole segments whose entries all lie below {@code min(index, snapshot index)}; a no-op
   * without a snapshot. The segment holding the entry at the snapshot's index is kept: if a crash
   * loses the snapshot's record, recovery redoes the cut and needs that entry's term to know whether
   * the entries after it stay. The segment holding the record and the active one are kept too. What
   * {@link #recovered()} returns does not change: the snapshot already cut the log.
   */
  @Override
  public void compact(long index) {
    checkUsable();
    if (snapshotSeq == 0) return;
    dropSegments(Math.min(index, snapshotIndex));
  }

  @Override
  public long lastIndex() {
    return lastIndex;
  }

  /** Index of the first entry the store holds (above 1 once old segments were dropped). */
  public long firstIndex() {
    return firstIndex;
  }

  /** Term of the entry at {@link #lastIndex()}, 0 when there is none. */
  public long lastTerm() {
    return lastTerm;
  }

  /** The hard state last saved (durable only after {@link #sync()}). */
  public HardState hardState() {
    return hardState;
  }

  /**
   * Deletes the oldest segments whose entries all lie below {@code index}, for use once a snapshot
   * covers everything below it. The active segment is never deleted, and every remaining segment
   * starts with a hard state, so term and vote survive. After this, {@link #firstIndex()} and a
   * recovered log's first index are at most {@code index}. With a saved snapshot this is
   * {@link #compact}: {@code index} is capped at the snapshot's index and the segment holding its
   * record is kept.
   *
   * @return how many segments were deleted
   */
  public int dropSegmentsBefore(long index) {
    checkUsable();
    if (index > lastIndex + 1) {
      throw new IllegalArgumentException("drop before " + index + " past last index " + lastIndex);
    }
    // Never past the snapshot's own entry (see compact).
    return dropSegments(snapshotSeq == 0 ? index : Math.min(index, snapshotIndex));
  }

  private int dropSegments(long index) {
    int dropped = 0;
    try {
      // Segment k+1's entries above its base were all written in k+1 or later, so k (and all
      // before it) hold nothing at or above index once base(k+1) < index.
      while (segments.size() > 1 && segments.get(1).baseIndex() < index
          && (snapshotMarkSegSeq == 0 || segments.get(0).seq() < snapshotMarkSegSeq)) {
        Files.delete(segments.get(0).path()); // oldest first: a crash leaves a contiguous run
        segments.remove(0);
        segmentCount = segments.size();
        dropped++;
      }
      if (dropped > 0) {
        fsyncDir(dir);
        long first = Math.max(firstIndex, segments.get(0).baseIndex() + 1);
        if (first > firstIndex) terms.dropThrough(first - 1);
        firstIndex = first;
      }
    } catch (IOException e) {
      throw fail(e);
    }
    return dropped;
  }

  // ---- metrics (what the daemon exports) ----

  /** Calls to {@link #sync()} that forced something (a sync with nothing new costs nothing). */
  public long syncCount() {
    return syncCount;
  }

  /** Every fsync of a segment: syncs plus the forces of segment rolls and recovery. */
  public long fsyncCount() {
    return fsyncCount;
  }

  /** Time spent in segment fsyncs since open, in nanoseconds. */
  public long fsyncNanosTotal() {
    return fsyncNanosTotal;
  }

  /** Duration of the latest segment fsync, in nanoseconds (0 before the first). */
  public long fsyncNanosLast() {
    return fsyncNanosLast;
  }

  /** Bytes handed to the OS since open: headers and records. */
  public long bytesWritten() {
    return bytesWritten;
  }

  /** Index of the newest snapshot saved or recovered, 0 when none. */
  public long snapshotIndex() {
    return snapshotIndex;
  }

  /** The newest snapshot's file (saved or recovered), or null when there is none: for error messages. */
  public Path snapshotFile() {
    return snapshotSeq == 0 ? null : dir.resolve(SnapshotFiles.fileName(snapshotSeq));
  }

  /** Segment files the log occupies now. */
  public int segmentCount() {
    return segmentCount;
  }

  /** Bytes of torn tail that recovery cut away on open (0 after a clean shutdown). */
  public long recoveryTruncatedBytes() {
    return recoveryTruncatedBytes;
  }

  /** The directory this store lives in. */
  public Path dir() {
    return dir;
  }

  /** Flushes and forces what is pending, then releases the files. Idempotent. */
  @Override
  public void close() throws IOException {
    if (closed) return;
    closed = true;
    try {
      if (failure == null) {
        flush();
        if (activeAllocatedBytes > activeWrittenBytes) {
          active.truncate(activeWrittenBytes); // a closed store's files end on a record
          activeAllocatedBytes = activeWrittenBytes;
          force(active);
        } else if (activeDurableBytes != activeWrittenBytes) {
          force(active);
        }
      }
    } finally {
      try {
        active.close();
      } finally {
        lock.release();
        lockChannel.close();
      }
    }
  }

  // ---- writing ----

  private void writeSnapshotMark(SegmentFormat.SnapshotMark mark) throws IOException {
    maybeRoll(SegmentFormat.SNAPSHOT_RECORD_BYTES);
    ByteBuffer target = target(SegmentFormat.SNAPSHOT_RECORD_BYTES);
    SegmentFormat.putSnapshotMark(target, mark);
    finishRecord(target, SegmentFormat.SNAPSHOT_RECORD_BYTES);
    snapshotMarkSegSeq = segments.get(segments.size() - 1).seq();
  }

  private void maybeRoll(int recordBytes) throws IOException {
    // activeRecords > 1: a segment always keeps at least one record past its opening hard state,
    // so a record bigger than segmentBytesMax cannot make the store roll forever.
    if (activeRecords > 1 && activeBytes + recordBytes > options.segmentBytesMax()) {
      roll();
    }
  }

  /**
   * Finishes the active segment (forced in full, so it can never have a torn tail) and starts the
   * next one.
   */
  private void roll() throws IOException {
    flush();
    active.truncate(activeWrittenBytes); // the zeros written ahead go: a finished segment ends on a record
    force(active);
    active.close();
    createSegment(segments.get(segments.size() - 1).seq() + 1);
  }

  /**
   * Creates segment {@code seq} with the current base and hard state, forces it and syncs the
   * directory, so the segment exists with a valid first record before anything else is written.
   */
  private void createSegment(long seq) throws IOException {
    Path path = dir.resolve(SegmentFormat.fileName(seq));
    SegmentFormat.Header header = new SegmentFormat.Header(seq, lastIndex, lastTerm);
    byte[] votedFor = SegmentFormat.votedForBytes(hardState);
    int firstBytes = SegmentFormat.HEADER_BYTES + SegmentFormat.hardStateRecordBytes(votedFor);
    ByteBuffer first = ByteBuffer.allocate(firstBytes);
    SegmentFormat.putHeader(first, header);
    SegmentFormat.putHardState(first, hardState, votedFor);
    first.flip();
    active = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    activeAllocatedBytes = 0;
    segments.add(new Segment(path, seq, lastIndex, lastTerm));
    segmentCount = segments.size();
    writeFully(active, first);
    force(active);
    fsyncDir(dir);
    activeBytes = activeWrittenBytes = activeDurableBytes = firstBytes;
    activeRecords = 1;
  }

  /**
   * Where to encode a record of {@code recordBytes}: the write buffer (flushed first if full), or,
   * for a record larger than the whole buffer, a buffer of its own that {@link #finishRecord}
   * writes at once. Its size is trusted: append bounded it by ENTRY_DATA_BYTES_MAX.
   */
  private ByteBuffer target(int recordBytes) throws IOException {
    if (buffer.remaining() >= recordBytes) return buffer;
    flush();
    return buffer.remaining() >= recordBytes ? buffer : ByteBuffer.allocate(recordBytes);
  }

  private void finishRecord(ByteBuffer target, int recordBytes) throws IOException {
    if (target != buffer) {
      target.flip();
      writeFully(active, target);
      activeWrittenBytes += recordBytes;
    }
    activeBytes += recordBytes;
    activeRecords++;
  }

  /** Hands the buffer to the OS without forcing: survives a process crash, not a power cut. */
  void flush() throws IOException {
    if (buffer.position() == 0) return;
    buffer.flip();
    int bytes = buffer.remaining();
    writeFully(active, buffer);
    buffer.clear();
    activeWrittenBytes += bytes;
  }

  private void writeFully(FileChannel ch, ByteBuffer src) throws IOException {
    int bytes = src.remaining();
    if (ch == active) {
      allocateAhead(ch.position() + bytes);
    }
    while (src.hasRemaining()) ch.write(src);
    bytesWritten += bytes;
  }

  /** Zeros written ahead of the data at a time, so most forces change no file size (storage.md). */
  static final int ALLOCATE_AHEAD_BYTES = 1 << 20;

  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ALLOCATE_AHEAD_BYTES).asReadOnlyBuffer();

  /**
   * Makes the active file at least {@code end} bytes long by writing zeros past its current end, up to
   * the next multiple of {@link #ALLOCATE_AHEAD_BYTES} beyond {@code end}. A force that only
   * overwrites bytes inside the file persists data alone; one that grows the file must also journal
   * its new size, which on ext4 took 0.33 ms against 0.20 ms per 4 KiB fdatasync here. The zeros go
   * out with the next force; recovery cuts zeros after the last record (LogRecovery).
   */
  private void allocateAhead(long end) throws IOException {
    if (end <= activeAllocatedBytes) return;
    // never far past the segment's size: a store of small segments writes small chunks
    long chunk = Math.min(ALLOCATE_AHEAD_BYTES, options.segmentBytesMax());
    long target = Math.max(end, Math.min((end / chunk + 1) * chunk, options.segmentBytesMax()));
    long at = activeAllocatedBytes;
    while (at < target) {
      ByteBuffer z = ZEROS.duplicate();
      z.limit((int) Math.min(z.capacity(), target - at));
      while (z.hasRemaining()) at += active.write(z, at);
    }
    activeAllocatedBytes = target;
  }

  private void force(FileChannel ch) throws IOException {
    long start = System.nanoTime();
    // force(false) is fdatasync: it persists the data and the file size (needed to read the data
    // back), and skips only metadata like mtime.
    ch.force(false);
    long nanos = System.nanoTime() - start;
    fsyncNanosLast = nanos;
    fsyncNanosTotal += nanos;
    fsyncCount++;
  }

  /** Makes creations, deletions and renames in {@code dir} durable (POSIX needs the dir fsynced). */
  static void fsyncDir(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private void checkUsable() {
    if (closed) throw new IllegalStateException("log store " + dir + " is closed");
    if (failure != null) {
      throw new IllegalStateException("log store " + dir + " failed earlier; restart to recover",
          failure);
    }
  }

  private UncheckedIOException fail(IOException e) {
    failure = e;
    return new UncheckedIOException("log store " + dir + " failed: " + e.getMessage(), e);
  }

  // ---- test hooks ----

  /** The active segment's file. */
  Path activeSegmentForTest() {
    return segments.get(segments.size() - 1).path();
  }

  /** How much of the active segment is forced; a power cut keeps at least this much. */
  long activeWrittenBytesForTest() {
    return activeWrittenBytes;
  }

  long activeDurableBytesForTest() {
    return activeDurableBytes;
  }

  /**
   * Releases the files without writing the buffer, as a killed process would: what was handed to
   * the OS stays in the files (a test then cuts them to model a power cut), the rest is lost.
   */
  void abandonForTest() throws IOException {
    closed = true;
    buffer.clear();
    active.close();
    lockChannel.close();
  }
}
