package io.conclave.bench;

import io.conclave.consensus.log.SegmentedLogStore;
import io.conclave.consensus.raft.Configuration;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Paired snapshot save times: each round saves one 1 MiB and one 64 MiB snapshot, in alternating
 * order, into two stores in the same directory tree, so both sizes see the same (shared, noisy)
 * disk. Prints the median, quartiles and max per size and the write rate at the median.
 *
 * <pre>
 * mvn -B -q -pl bench -am package -DskipTests
 * java -cp bench/target/benchmarks.jar io.conclave.bench.SnapshotSaveInterleaved 20   # rounds
 * </pre>
 */
public final class SnapshotSaveInterleaved {
  private SnapshotSaveInterleaved() {}

  public static void main(String[] args) throws IOException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int[] sizes = {1 << 20, 64 << 20};
    Configuration conf = Configuration.ofVoters(Set.of("n1", "n2", "n3"));
    Path dir = SnapshotSaveBenchmark.newDir("conclave-snapshot-paired");
    SegmentedLogStore[] stores = new SegmentedLogStore[sizes.length];
    byte[][] data = new byte[sizes.length][];
    long[][] nanos = new long[sizes.length][rounds];
    try {
      for (int k = 0; k < sizes.length; k++) {
        stores[k] = SegmentedLogStore.open(dir.resolve("s" + k));
        data[k] = new byte[sizes[k]];
        new SplittableRandom(k).nextBytes(data[k]);
        SnapshotSaveBenchmark.save(stores[k], conf, data[k]); // warm-up, not counted
      }
      for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < sizes.length; j++) {
          int k = (r % 2 == 0) ? j : sizes.length - 1 - j;
          long start = System.nanoTime();
          SnapshotSaveBenchmark.save(stores[k], conf, data[k]);
          nanos[k][r] = System.nanoTime() - start;
        }
      }
    } finally {
      for (SegmentedLogStore s : stores) if (s != null) s.close();
      SnapshotSaveBenchmark.deleteTree(dir);
    }
    for (int k = 0; k < sizes.length; k++) {
      long[] t = nanos[k].clone();
      Arrays.sort(t);
      double median = t[t.length / 2] / 1e6;
      System.out.printf("%3d MiB: median %.1f ms (p25 %.1f, p75 %.1f, max %.1f) over %d saves, "
              + "%.0f MiB/s at the median%n", sizes[k] >> 20, median, t[t.length / 4] / 1e6,
          t[t.length * 3 / 4] / 1e6, t[t.length - 1] / 1e6, rounds, (sizes[k] >> 20) / (median / 1e3));
    }
  }
}
