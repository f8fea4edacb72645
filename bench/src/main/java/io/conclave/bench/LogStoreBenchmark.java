package io.conclave.bench;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.SegmentedLogStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Append throughput of the durable log: small entries written the way the runtime writes a Raft
 * Ready (append the batch, save the hard state, one sync), with {@code entriesPerSync} entries per
 * sync. {@code entriesPerSync = 1} is one fsync per entry; 16, 64 and 256 are group commit.
 * (There is deliberately no variant without sync: it fills the page cache with gigabytes in
 * seconds, and the writeback storm that follows slows every fsync on a shared disk.)
 *
 * <p>The primary score is syncs per second; the {@code entries} line is entries per second, the
 * figure to compare. The log lives in a fresh directory under {@code -Dbench.dir} (default: the
 * system temp dir; it must be a real disk, not tmpfs, or fsync costs nothing). Old segments are
 * dropped as the run goes, so the disk use stays near two segments.
 *
 * <pre>
 * mvn -B -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar LogStoreBenchmark -f 1 -wi 2 -i 3
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class LogStoreBenchmark {

  /** Payload bytes of each entry. */
  @Param({"100"})
  int entryBytes;

  /** Entries appended between two syncs: 1 = force per entry, larger = group commit. */
  @Param({"1", "16", "64", "256"})
  int entriesPerSync;

  private Path dir;
  private SegmentedLogStore store;
  private byte[] payload;
  private long term = 1;

  /** Entries and payload bytes made durable, reported per second next to the primary score. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Durable {
    public long entries;
    public long payloadBytes;

    @Setup(Level.Iteration)
    public void reset() {
      entries = 0;
      payloadBytes = 0;
    }
  }

  @Setup(Level.Trial)
  public void open() throws IOException {
    Path base = Path.of(System.getProperty("bench.dir", System.getProperty("java.io.tmpdir")));
    dir = Files.createTempDirectory(base, "conclave-logstore-bench");
    store = SegmentedLogStore.open(dir);
    payload = new byte[entryBytes];
    new SplittableRandom(7).nextBytes(payload); // entries share one array; the store never keeps it
  }

  @Benchmark
  public void appendThenSync(Durable durable) {
    long first = store.lastIndex() + 1;
    List<Entry> batch = new ArrayList<>(entriesPerSync);
    for (int k = 0; k < entriesPerSync; k++) {
      batch.add(Entry.command(first + k, term, payload));
    }
    store.append(batch);
    store.saveHardState(new HardState(term, "n1", first)); // a commit index moves in most Readys
    store.sync();
    durable.entries += entriesPerSync;
    durable.payloadBytes += (long) entriesPerSync * entryBytes;
    if (store.segmentCount() > 2) store.dropSegmentsBefore(store.lastIndex());
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    long fsyncs = Math.max(1, store.fsyncCount());
    System.out.printf("%n[logstore] dir=%s syncs=%d fsync mean=%.1f us last=%.1f us "
            + "bytesWritten=%d%n", dir, store.syncCount(),
        store.fsyncNanosTotal() / 1e3 / fsyncs, store.fsyncNanosLast() / 1e3,
        store.bytesWritten());
    store.close();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
