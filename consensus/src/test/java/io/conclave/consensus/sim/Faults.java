package io.conclave.consensus.sim;

import java.util.SplittableRandom;

/**
 * The fault mix of one simulation run, drawn from its seed so that the seed alone replays the run.
 * Time is in simulation units; a node ticks every {@code 8..12} units (clock skew), so the default
 * election timeout of 10 ticks is about 100 units.
 *
 * @param nodes group size (3, 5 or 7)
 * @param lossRate probability that a message is dropped
 * @param dupRate probability that a message is delivered twice
 * @param maxDelayUnits messages take 1..this many units (random delays reorder them)
 * @param partitionRate per-unit probability that a new partition starts (while none is active)
 * @param crashRate per-unit probability that a random node crashes (losing unsynced writes)
 * @param maxSyncDelayUnits a node forces its writes 0..this many units after writing them
 * @param proposalRate per-unit probability that a client proposes a command
 * @param faultUnits length of the fault phase; the heal phase follows
 * @param maxMsgBytes AppendEntries batch bound (tiny values split batches, which exposes commit-rule
 *     bugs that a start-of-term no-op would otherwise hide)
 * @param maxInflight pipelining window per follower
 */
public record Faults(
    int nodes,
    double lossRate,
    double dupRate,
    int maxDelayUnits,
    double partitionRate,
    double crashRate,
    int maxSyncDelayUnits,
    double proposalRate,
    int faultUnits,
    long maxMsgBytes,
    int maxInflight) {

  /** A mix drawn from {@code seed}: every fault kind appears in some runs, none in others. */
  public static Faults swarm(long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
    int[] sizes = {3, 5, 7};
    int nodes = sizes[r.nextInt(sizes.length)];
    double loss = r.nextInt(4) == 0 ? 0 : r.nextDouble(0, 0.25);
    double dup = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.1);
    int delay = 1 + r.nextInt(r.nextBoolean() ? 5 : 40);
    double partition = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.004);
    double crash = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.003);
    int sync = r.nextInt(8);
    double propose = r.nextDouble(0.02, 0.3);
    long[] batch = {1, 100, 4096, 1 << 20};
    int[] window = {1, 2, 8, 64};
    return new Faults(nodes, loss, dup, delay, partition, crash, sync, propose, 4000,
        batch[r.nextInt(batch.length)], window[r.nextInt(window.length)]);
  }
}
