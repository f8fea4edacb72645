package io.conclave.bench;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.SegmentedLogStore;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.Snapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time to save a snapshot durably in {@link SegmentedLogStore}: write the checksummed file, force
 * it, rename it, force the directory, delete the previous one, then one {@code sync()} for the log
 * record, as the runtime does after an InstallSnapshot. Each save is one entry further on, so every
 * save keeps the log's entries after it (the common case).
 *
 * <p>The store lives under {@code -Dbench.dir} (default: the system temp dir; a real disk, not
 * tmpfs). Only one snapshot file exists at a time. {@link SnapshotSaveInterleaved} alternates the
 * sizes so both see the same disk.
 *
 * <pre>
 * mvn -B -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar SnapshotSaveBenchmark -f 1 -wi 1 -i 5
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 5, time = 2)
public class SnapshotSaveBenchmark {

  /** Snapshot data bytes: 1 MiB and 64 MiB. */
  @Param({"1048576", "67108864"})
  int dataBytes;

  private Path dir;
  private SegmentedLogStore store;
  private byte[] data;
  private final Configuration conf = Configuration.ofVoters(Set.of("n1", "n2", "n3"));

  @Setup(Level.Trial)
  public void open() throws IOException {
    dir = newDir("conclave-snapshot-bench");
    store = SegmentedLogStore.open(dir);
    data = new byte[dataBytes];
    new SplittableRandom(7).nextBytes(data);
  }

  @Benchmark
  public void saveSnapshotThenSync() {
    save(store, conf, data);
  }

  /** One entry, then a snapshot at it, then one sync: what a save costs with a growing log. */
  static void save(SegmentedLogStore store, Configuration conf, byte[] data) {
    long index = store.lastIndex() + 1;
    store.append(List.of(Entry.command(index, 1, new byte[16])));
    store.saveSnapshot(new Snapshot(index, 1, conf, data));
    store.sync();
    store.compact(index);
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    store.close();
    deleteTree(dir);
  }

  static Path newDir(String prefix) throws IOException {
    Path base = Path.of(System.getProperty("bench.dir", System.getProperty("java.io.tmpdir")));
    return Files.createTempDirectory(base, prefix);
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
