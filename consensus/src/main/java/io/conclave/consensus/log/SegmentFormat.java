package io.conclave.consensus.log;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The on-disk format of {@link SegmentedLogStore} (docs/storage.md describes it for humans). Every
 * integer is big-endian. Changing anything here needs a new {@link #VERSION}.
 *
 * <pre>
 * segment file  wal-&lt;seq, 16 decimal digits&gt;.wal
 *   header      magic u32 "CWAL" | version u16 | reserved u16 (0) | seq u64 | baseIndex u64
 *               | baseTerm u64 | crc u32 (CRC32C of the 32 bytes before it)          = 36 bytes
 *   record*     length u32 (bytes of type + payload) | crc u32 | type u8 | payload
 *               crc = CRC32C over the 4 length bytes, the type byte and the payload
 * ENTRY (1)     index u64 | term u64 | entryType u8 (EntryType.code) | data (the rest)
 * HARD_STATE(2) term u64 | commit u64 | votedFor length i32 (-1 = null) | votedFor UTF-8
 * SNAPSHOT (3)  snapshotSeq u64 | index u64 | term u64 | kept u8 (1 = entries after index kept,
 *               0 = whole log dropped)
 * </pre>
 *
 * <p>A SNAPSHOT record marks where, among the appends, a snapshot was saved (its data lives in
 * {@link SnapshotFiles}): replay drops what the snapshot covers exactly as the store did. Record
 * type 3 came with snapshots; a build from before them refuses it as an unknown type with a valid
 * CRC ("written by a newer version?"), which is what that rule is for, so the version stays 1.
 *
 * <p>A segment's first record is always a HARD_STATE (the state when the segment was created), so
 * older segments can be deleted without losing term and vote. An ENTRY whose index is at or below
 * the last replayed index replaces the log from that index on (Raft §5.3): suffix replacement needs
 * no record of its own.
 */
final class SegmentFormat {
  private SegmentFormat() {}

  static final int MAGIC = 0x4357414C; // "CWAL"
  static final int VERSION = 1;
  static final int HEADER_BYTES = 36;
  /** Length and CRC in front of every record. */
  static final int FRAME_BYTES = 8;
  /**
   * Hard bound on a record's length field (type + payload). Recovery checks every length against it
   * and against the bytes left in the file before allocating anything.
   */
  static final int RECORD_BYTES_MAX = 16 << 20;

  static final byte TYPE_ENTRY = 1;
  static final byte TYPE_HARD_STATE = 2;
  static final byte TYPE_SNAPSHOT = 3;

  static final int ENTRY_FIXED_BYTES = 8 + 8 + 1;
  /** Largest {@link Entry#data()} that fits in one record. */
  static final int ENTRY_DATA_BYTES_MAX = RECORD_BYTES_MAX - 1 - ENTRY_FIXED_BYTES;
  static final int HARD_STATE_FIXED_BYTES = 8 + 8 + 4;
  /** Bound on a voter id in a HARD_STATE record (validated on save and on recovery). */
  static final int VOTED_FOR_BYTES_MAX = 1024;

  static final int SNAPSHOT_MARK_BYTES = 8 + 8 + 8 + 1;
  static final int SNAPSHOT_RECORD_BYTES = FRAME_BYTES + 1 + SNAPSHOT_MARK_BYTES;

  private static final Pattern NAME = Pattern.compile("wal-(\\d{16})\\.wal");

  static String fileName(long seq) {
    return String.format("wal-%016d.wal", seq);
  }

  /** The sequence number in a segment file name, or -1 when the name is not a segment's. */
  static long seqOf(Path file) {
    Matcher m = NAME.matcher(file.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  /** What a segment header holds besides magic and version. */
  record Header(long seq, long baseIndex, long baseTerm) {}

  static void putHeader(ByteBuffer out, Header h) {
    int start = out.position();
    out.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0);
    out.putLong(h.seq()).putLong(h.baseIndex()).putLong(h.baseTerm());
    out.putInt((int) crc(out, start, HEADER_BYTES - 4));
  }

  /**
   * Reads a header at offset 0 of {@code in}, which holds at least {@link #HEADER_BYTES}.
   *
   * @throws CorruptLogException at offset 0 (where the header begins), naming the bad field
   */
  static Header readHeader(ByteBuffer in, Path file) throws CorruptLogException {
    int magic = in.getInt(0);
    if (magic != MAGIC) {
      throw new CorruptLogException(
          file, 0, String.format("bad magic 0x%08x, expected 0x%08x (not a conclave log segment)",
              magic, MAGIC));
    }
    // Version before CRC: a newer format may have a different header, and should say so.
    int version = Short.toUnsignedInt(in.getShort(4));
    if (version != VERSION) {
      throw new CorruptLogException(
          file, 0, "format version " + version + ", this build reads version " + VERSION);
    }
    long storedCrc = Integer.toUnsignedLong(in.getInt(HEADER_BYTES - 4));
    long computedCrc = crc(in, 0, HEADER_BYTES - 4);
    if (storedCrc != computedCrc) {
      throw new CorruptLogException(
          file, 0, String.format("header CRC 0x%08x does not match computed 0x%08x",
              storedCrc, computedCrc));
    }
    Header h = new Header(in.getLong(8), in.getLong(16), in.getLong(24));
    if (h.baseIndex() < 0 || h.baseTerm() < 0) {
      throw new CorruptLogException(file, 0, "header has a negative base index " + h.baseIndex()
          + " or base term " + h.baseTerm());
    }
    return h;
  }

  static int entryRecordBytes(Entry e) {
    return FRAME_BYTES + 1 + ENTRY_FIXED_BYTES + e.data().length;
  }

  static int hardStateRecordBytes(byte[] votedFor) {
    return FRAME_BYTES + 1 + HARD_STATE_FIXED_BYTES + (votedFor == null ? 0 : votedFor.length);
  }

  static byte[] votedForBytes(HardState hs) {
    return hs.votedFor() == null ? null : hs.votedFor().getBytes(StandardCharsets.UTF_8);
  }

  /** Writes one framed ENTRY record; {@code out} is a heap buffer with room for it. */
  static void putEntry(ByteBuffer out, Entry e) {
    int start = beginRecord(out, TYPE_ENTRY);
    out.putLong(e.index()).putLong(e.term()).put((byte) e.type().code()).put(e.data());
    endRecord(out, start);
  }

  /** Writes one framed HARD_STATE record; {@code votedFor} is {@link #votedForBytes} of it. */
  static void putHardState(ByteBuffer out, HardState hs, byte[] votedFor) {
    int start = beginRecord(out, TYPE_HARD_STATE);
    out.putLong(hs.term()).putLong(hs.commit());
    if (votedFor == null) {
      out.putInt(-1);
    } else {
      out.putInt(votedFor.length).put(votedFor);
    }
    endRecord(out, start);
  }

  /**
   * Where a snapshot was saved among the appends.
   *
   * @param snapshotSeq the number of its file ({@link SnapshotFiles#fileName})
   * @param kept true when the stored entry at {@code index} had the snapshot's term, so the entries
   *     after it were kept; false when the whole log was dropped
   */
  record SnapshotMark(long snapshotSeq, long index, long term, boolean kept) {}

  /** Writes one framed SNAPSHOT record. */
  static void putSnapshotMark(ByteBuffer out, SnapshotMark m) {
    int start = beginRecord(out, TYPE_SNAPSHOT);
    out.putLong(m.snapshotSeq()).putLong(m.index()).putLong(m.term()).put((byte) (m.kept() ? 1 : 0));
    endRecord(out, start);
  }

  private static int beginRecord(ByteBuffer out, byte type) {
    int start = out.position();
    out.putInt(0).putInt(0).put(type); // length and crc are filled in by endRecord
    return start;
  }

  private static void endRecord(ByteBuffer out, int start) {
    int length = out.position() - start - FRAME_BYTES;
    out.putInt(start, length);
    out.putInt(start + 4, (int) recordCrc(out, start, length));
  }

  /** CRC32C of a record at {@code start} whose length field says {@code length}. */
  static long recordCrc(ByteBuffer buf, int start, int length) {
    CRC32C c = new CRC32C();
    c.update(buf.slice(start, 4));
    c.update(buf.slice(start + FRAME_BYTES, length));
    return c.getValue();
  }

  private static long crc(ByteBuffer buf, int start, int length) {
    CRC32C c = new CRC32C();
    c.update(buf.slice(start, length));
    return c.getValue();
  }
}
