package io.conclave.consensus.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Test helpers that build entries and poke at segment files the way a crash or a bad disk would. */
final class LogFiles {
  private LogFiles() {}

  /** Command entries {@code from..to} (inclusive) in {@code term}, with data naming both. */
  static List<Entry> entries(long from, long to, long term) {
    List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(Entry.command(i, term, ("cmd-" + i + "@" + term).getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  static List<Path> segments(Path dir) {
    try {
      return LogRecovery.segmentFiles(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path lastSegment(Path dir) {
    List<Path> all = segments(dir);
    return all.get(all.size() - 1);
  }

  /** Start offsets of the records in a well-formed segment, in order. */
  static List<Integer> recordOffsets(Path segment) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(segment));
    List<Integer> out = new ArrayList<>();
    int pos = SegmentFormat.HEADER_BYTES;
    while (pos < buf.limit()) {
      out.add(pos);
      pos += SegmentFormat.FRAME_BYTES + buf.getInt(pos);
    }
    return out;
  }

  static void truncate(Path file, long bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(bytes);
    }
  }

  static void flipByte(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, offset);
      one.put(0, (byte) (one.get(0) ^ 0x5A)).rewind();
      ch.write(one, offset);
    }
  }

  static void writeAt(Path file, long offset, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(bytes), offset);
    }
  }

  /** Copies every file of {@code from} (flat) into the new or empty directory {@code to}. */
  static void copyDir(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> s = Files.list(from)) {
      for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
