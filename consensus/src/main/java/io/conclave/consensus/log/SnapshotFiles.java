package io.conclave.consensus.log;

import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.Snapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Snapshot files: one checksummed file per snapshot, written to a temp file, forced, renamed into
 * place and the directory forced, so a crash leaves either the whole file or none of it under its
 * final name (docs/storage.md describes the format for humans). Every integer is big-endian.
 *
 * <pre>
 * file      snap-&lt;seq, 16 decimal digits&gt;.snap      (while being written: the same name + .tmp)
 * header    magic u32 "CSNP" | version u16 = 1 | reserved u16 = 0 | seq u64 | index u64 | term u64
 *           | configBytes u32 | configuration (Configuration.encode())          = 36 B + config
 * data      the application's bytes
 * trailer   dataBytes u64 | crc u32 = CRC32C(every byte before the crc)
 * </pre>
 *
 * <p>The data length sits in the trailer, not the header, so a state machine can stream a snapshot
 * of a size it does not know in advance ({@link Writer}); the one CRC still covers header, data and
 * length. A file whose size is not exactly header + dataBytes + trailer is truncated or extended.
 *
 * <p>Readers stream too: {@link #verify} checks a file in one bounded-memory pass, then
 * {@link #openData} streams its data; {@link #read} loads it whole, for {@link Snapshot}.
 */
public final class SnapshotFiles {
  private SnapshotFiles() {}

  static final int MAGIC = 0x43534E50; // "CSNP"
  static final int VERSION = 1;
  static final int HEADER_FIXED_BYTES = 36;
  static final int TRAILER_BYTES = 12;
  /** Bound on the encoded configuration (2,048 members of 1 KiB ids at most is about 2 MiB). */
  static final int CONFIG_BYTES_MAX = 4 << 20;
  private static final int IO_BUFFER_BYTES = 64 << 10;

  private static final Pattern NAME = Pattern.compile("snap-(\\d{16})\\.snap");
  private static final Pattern TEMP = Pattern.compile("snap-(\\d{16})\\.snap\\.tmp");

  /** What a verified snapshot file holds besides its data. */
  public record Meta(long seq, long index, long term, Configuration configuration, long dataBytes,
      long dataOffset) {}

  public static String fileName(long seq) {
    return String.format("snap-%016d.snap", seq);
  }

  static String tempName(long seq) {
    return fileName(seq) + ".tmp";
  }

  /** The sequence number in a (final) snapshot file name, or -1. */
  static long seqOf(Path file) {
    Matcher m = NAME.matcher(file.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  static boolean isTemp(Path file) {
    return TEMP.matcher(file.getFileName().toString()).matches();
  }

  /** Final snapshot files in {@code dir}, newest (highest seq) first. */
  static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> seqOf(p) >= 0)
          .sorted(Comparator.comparingLong(SnapshotFiles::seqOf).reversed())
          .toList();
    }
  }

  /** Leftover temp files in {@code dir}: snapshots whose write never reached the rename. */
  static List<Path> temps(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(SnapshotFiles::isTemp).toList();
    }
  }

  // ---- writing ----

  /**
   * Starts snapshot {@code seq} of the state at {@code index}/{@code term}: the caller streams the
   * data into the returned writer, then {@link Writer#commit()} makes it durable under its final
   * name. Closing the writer without committing deletes the temp file.
   */
  public static Writer create(Path dir, long seq, long index, long term, Configuration configuration)
      throws IOException {
    if (seq < 1 || index < 1 || term < 1) {
      throw new IllegalArgumentException("snapshot seq " + seq + " at " + index + "@" + term);
    }
    byte[] conf = configuration.encode();
    if (conf.length > CONFIG_BYTES_MAX) {
      throw new IllegalArgumentException("configuration is " + conf.length + " bytes > "
          + CONFIG_BYTES_MAX);
    }
    ByteBuffer header = ByteBuffer.allocate(HEADER_FIXED_BYTES + conf.length);
    header.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0);
    header.putLong(seq).putLong(index).putLong(term).putInt(conf.length).put(conf);
    header.flip();
    return new Writer(dir, seq, header);
  }

  /** Writes {@code s} as snapshot {@code seq} and makes it durable; returns the final path. */
  public static Path write(Path dir, long seq, Snapshot s) throws IOException {
    try (Writer w = create(dir, seq, s.index(), s.term(), s.configuration())) {
      w.write(s.data());
      return w.commit();
    }
  }

  /**
   * An {@link OutputStream} into a snapshot's temp file. Not thread-safe. {@link #commit()} writes
   * the trailer, forces the file, renames it into place atomically and forces the directory.
   */
  public static final class Writer extends OutputStream {
    private final Path dir;
    private final Path temp;
    private final Path target;
    private final FileChannel ch;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer buf = ByteBuffer.allocate(IO_BUFFER_BYTES);
    private long dataBytes;
    private boolean done;

    private Writer(Path dir, long seq, ByteBuffer header) throws IOException {
      this.dir = dir;
      this.temp = dir.resolve(tempName(seq));
      this.target = dir.resolve(fileName(seq));
      // TRUNCATE_EXISTING: a temp of the same name can only be a leftover of a crashed attempt.
      this.ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING);
      crc.update(header.duplicate());
      try {
        writeFully(header);
      } catch (IOException | RuntimeException e) {
        close(); // releases the channel and deletes the temp file
        throw e;
      }
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (done) throw new IOException("snapshot writer for " + target + " is closed");
      crc.update(b, off, len);
      dataBytes += len;
      if (len >= buf.capacity()) { // large writes skip the copy
        flushBuffer();
        writeFully(ByteBuffer.wrap(b, off, len));
        return;
      }
      if (buf.remaining() < len) flushBuffer();
      buf.put(b, off, len);
    }

    /** Bytes of data written so far. */
    public long dataBytes() {
      return dataBytes;
    }

    /**
     * Finishes the file and makes it durable under its final name (fsync file, rename, fsync
     * directory). After this returns, a crash recovers this snapshot.
     */
    public Path commit() throws IOException {
      if (done) throw new IOException("snapshot writer for " + target + " is closed");
      ByteBuffer len = ByteBuffer.allocate(8).putLong(0, dataBytes);
      crc.update(len.duplicate());
      if (buf.remaining() < TRAILER_BYTES) flushBuffer();
      buf.put(len).putInt((int) crc.getValue());
      flushBuffer();
      ch.force(false);
      ch.close();
      done = true;
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      SegmentedLogStore.fsyncDir(dir);
      return target;
    }

    /** Abandons the snapshot (deleting the temp file) unless it was committed. */
    @Override
    public void close() throws IOException {
      if (done) return;
      done = true;
      try {
        ch.close();
      } finally {
        Files.deleteIfExists(temp);
      }
    }

    private void flushBuffer() throws IOException {
      buf.flip();
      writeFully(buf);
      buf.clear();
    }

    private void writeFully(ByteBuffer src) throws IOException {
      while (src.hasRemaining()) ch.write(src);
    }
  }

  // ---- reading ----

  /**
   * Checks {@code file} in full (sizes, CRC, configuration) with bounded memory.
   *
   * @throws CorruptLogException naming the file and the offset of what is wrong
   */
  public static Meta verify(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      Raw raw = readRaw(file, ch);
      CRC32C crc = new CRC32C();
      ByteBuffer b = ByteBuffer.allocate(IO_BUFFER_BYTES);
      long end = ch.size() - 4;
      long pos = 0;
      while (pos < end) {
        b.clear().limit((int) Math.min(b.capacity(), end - pos));
        int n = ch.read(b, pos);
        if (n < 0) throw new CorruptLogException(file, pos, "file shrank while being read");
        b.flip();
        crc.update(b);
        pos += n;
      }
      checkCrc(file, ch, end, crc.getValue());
      return raw.meta(file);
    }
  }

  /** The data of a file {@link #verify} accepted, as a stream the caller closes. */
  public static InputStream openData(Path file, Meta meta) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    ch.position(meta.dataOffset());
    InputStream in = Channels.newInputStream(ch);
    return new InputStream() {
      private long left = meta.dataBytes();

      @Override
      public int read() throws IOException {
        if (left == 0) return -1;
        int b = in.read();
        if (b >= 0) left--;
        return b;
      }

      @Override
      public int read(byte[] dst, int off, int len) throws IOException {
        if (len == 0) return 0;
        if (left == 0) return -1;
        int n = in.read(dst, off, (int) Math.min(len, left));
        if (n > 0) left -= n;
        return n;
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }

  /**
   * Reads and checks a whole snapshot into memory.
   *
   * @throws CorruptLogException when the file is damaged, truncated, or too big for one array
   */
  public static Snapshot read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      Raw raw = readRaw(file, ch);
      if (raw.dataBytes() > Integer.MAX_VALUE - 16) {
        throw new CorruptLogException(file, raw.dataOffset(), "snapshot data of "
            + raw.dataBytes() + " bytes does not fit in memory; read it with openData");
      }
      ByteBuffer head = ByteBuffer.allocate((int) raw.dataOffset());
      readFully(file, ch, head, 0);
      byte[] data = new byte[(int) raw.dataBytes()];
      readFully(file, ch, ByteBuffer.wrap(data), raw.dataOffset());
      CRC32C crc = new CRC32C();
      crc.update(head.flip());
      crc.update(data);
      crc.update(ByteBuffer.allocate(8).putLong(0, raw.dataBytes()));
      checkCrc(file, ch, ch.size() - 4, crc.getValue());
      Meta meta = raw.meta(file);
      return new Snapshot(meta.index(), meta.term(), meta.configuration(), data);
    }
  }

  /** Header fields as read; {@link #meta} interprets them once the CRC has been checked. */
  private record Raw(long seq, long index, long term, byte[] conf, long dataBytes, long dataOffset) {
    Meta meta(Path file) throws CorruptLogException {
      Configuration configuration;
      try {
        configuration = Configuration.decode(conf);
      } catch (IllegalArgumentException e) {
        throw new CorruptLogException(file, HEADER_FIXED_BYTES,
            "bad configuration with a valid CRC: " + e.getMessage());
      }
      if (seqOf(file) >= 0 && seq != seqOf(file)) {
        throw new CorruptLogException(file, 8,
            "header says seq " + seq + " but the file name says " + seqOf(file));
      }
      if (index < 1 || term < 1) {
        throw new CorruptLogException(file, 16, "snapshot at index " + index + " term " + term);
      }
      return new Meta(seq, index, term, configuration, dataBytes, dataOffset);
    }
  }

  /**
   * Header, configuration and trailer length, checked against the file size before anything is
   * allocated from a length field. The caller checks the CRC, then calls {@link Raw#meta}.
   */
  private static Raw readRaw(Path file, FileChannel ch) throws IOException {
    long size = ch.size();
    if (size < HEADER_FIXED_BYTES + TRAILER_BYTES) {
      throw new CorruptLogException(file, 0, "snapshot file is " + size + " bytes, shorter than "
          + (HEADER_FIXED_BYTES + TRAILER_BYTES) + " (truncated)");
    }
    ByteBuffer h = ByteBuffer.allocate(HEADER_FIXED_BYTES);
    readFully(file, ch, h, 0);
    int magic = h.getInt(0);
    if (magic != MAGIC) {
      throw new CorruptLogException(file, 0, String.format(
          "bad magic 0x%08x, expected 0x%08x (not a conclave snapshot)", magic, MAGIC));
    }
    int version = Short.toUnsignedInt(h.getShort(4));
    if (version != VERSION) {
      throw new CorruptLogException(file, 4,
          "snapshot format version " + version + ", this build reads version " + VERSION);
    }
    long seq = h.getLong(8);
    long index = h.getLong(16);
    long term = h.getLong(24);
    int confBytes = h.getInt(32);
    long rest = size - HEADER_FIXED_BYTES - TRAILER_BYTES;
    if (confBytes < 0 || confBytes > CONFIG_BYTES_MAX || confBytes > rest) {
      throw new CorruptLogException(file, 32, "configuration length " + confBytes + " outside [0, "
          + Math.min(CONFIG_BYTES_MAX, rest) + "] (truncated or damaged)");
    }
    ByteBuffer t = ByteBuffer.allocate(8);
    readFully(file, ch, t, size - TRAILER_BYTES);
    long dataBytes = t.getLong(0);
    long dataOffset = HEADER_FIXED_BYTES + (long) confBytes;
    if (dataBytes != size - dataOffset - TRAILER_BYTES) {
      throw new CorruptLogException(file, size - TRAILER_BYTES, "trailer says " + dataBytes
          + " data bytes but the file holds " + (size - dataOffset - TRAILER_BYTES)
          + " (truncated or damaged)");
    }
    byte[] conf = new byte[confBytes];
    readFully(file, ch, ByteBuffer.wrap(conf), HEADER_FIXED_BYTES);
    return new Raw(seq, index, term, conf, dataBytes, dataOffset);
  }

  private static void checkCrc(Path file, FileChannel ch, long at, long computed)
      throws IOException {
    ByteBuffer c = ByteBuffer.allocate(4);
    readFully(file, ch, c, at);
    long stored = Integer.toUnsignedLong(c.getInt(0));
    if (stored != computed) {
      throw new CorruptLogException(file, at, String.format(
          "snapshot CRC 0x%08x does not match computed 0x%08x", stored, computed));
    }
  }

  private static void readFully(Path file, FileChannel ch, ByteBuffer dst, long pos)
      throws IOException {
    long p = pos;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, p);
      if (n < 0) throw new CorruptLogException(file, p, "unexpected end of file");
      p += n;
    }
  }
}
