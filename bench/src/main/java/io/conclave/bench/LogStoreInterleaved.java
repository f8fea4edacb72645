package io.conclave.bench;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.SegmentedLogStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A companion to {@link LogStoreBenchmark} for a shared, noisy disk: it alternates short slices of
 * each batch size (1, 16, 64, 256 entries per sync) for a number of rounds, so every batch size
 * sees the same disk conditions, and prints entries per second and mean fsync time per batch size.
 * Not a JMH benchmark: it makes a ratio believable when fsync latency drifts by 10x within minutes.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar io.conclave.bench.LogStoreInterleaved [rounds] [sliceMs]
 * </pre>
 */
public final class LogStoreInterleaved {
  private static final int[] BATCHES = {1, 16, 64, 256};
  private static final int ENTRY_BYTES = 100;

  public static void main(String[] args) throws IOException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    long sliceMs = args.length > 1 ? Long.parseLong(args[1]) : 500;
    Path base = Path.of(System.getProperty("bench.dir", System.getProperty("java.io.tmpdir")));
    Path dir = Files.createTempDirectory(base, "conclave-logstore-interleaved");
    byte[] payload = new byte[ENTRY_BYTES];
    long[] entries = new long[BATCHES.length];
    long[] nanos = new long[BATCHES.length];
    long[] fsyncs = new long[BATCHES.length];
    long[] fsyncNanos = new long[BATCHES.length];
    try (SegmentedLogStore store = SegmentedLogStore.open(dir)) {
      for (int round = -2; round < rounds; round++) { // two warm-up rounds are not counted
        for (int b = 0; b < BATCHES.length; b++) {
          long syncs0 = store.fsyncCount();
          long fsyncNanos0 = store.fsyncNanosTotal();
          long start = System.nanoTime();
          long deadline = start + sliceMs * 1_000_000;
          long written = 0;
          while (System.nanoTime() < deadline) {
            long first = store.lastIndex() + 1;
            List<Entry> batch = new ArrayList<>(BATCHES[b]);
            for (int k = 0; k < BATCHES[b]; k++) batch.add(Entry.command(first + k, 1, payload));
            store.append(batch);
            store.saveHardState(new HardState(1, "n1", first));
            store.sync();
            written += BATCHES[b];
            if (store.segmentCount() > 2) store.dropSegmentsBefore(store.lastIndex());
          }
          if (round < 0) continue;
          entries[b] += written;
          nanos[b] += System.nanoTime() - start;
          fsyncs[b] += store.fsyncCount() - syncs0;
          fsyncNanos[b] += store.fsyncNanosTotal() - fsyncNanos0;
        }
      }
    } finally {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
      }
    }
    System.out.printf("rounds=%d sliceMs=%d entryBytes=%d%n", rounds, sliceMs, ENTRY_BYTES);
    System.out.printf("%-16s %14s %16s %10s%n", "entriesPerSync", "entries/s", "fsync mean us",
        "vs 1");
    double perEntry = entries[0] * 1e9 / nanos[0];
    for (int b = 0; b < BATCHES.length; b++) {
      double rate = entries[b] * 1e9 / nanos[b];
      System.out.printf("%-16d %14.0f %16.1f %9.1fx%n", BATCHES[b], rate,
          fsyncNanos[b] / 1e3 / Math.max(1, fsyncs[b]), rate / perEntry);
    }
  }
}
