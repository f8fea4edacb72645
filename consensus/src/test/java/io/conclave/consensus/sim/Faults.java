package io.conclave.consensus.sim;

import java.util.SplittableRandom;

/**
 * The fault and workload mix of one simulation run, drawn from its seed so that the seed alone
 * replays the run. Time is in simulation units; a node ticks every {@code 8..12} units (clock skew),
 * so the default election timeout of 10 ticks is about 100 units.
 *
 * @param nodes initial group size (3, 5 or 7)
 * @param spares members that start outside the group and may be added as learners
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
 * @param snapshotRate per-unit probability that a random node snapshots its state and compacts
 * @param trailingEntries entries kept behind a snapshot
 * @param confChangeRate per-unit probability that the leader is asked for a membership change
 * @param transferRate per-unit probability that the leader is asked to transfer leadership
 * @param readRate per-unit probability that a client reads (ReadIndex or lease) at a random node
 * @param syncStallRate probability that a sync stalls for another 20..120 units (a shared disk's
 *     fsync stall), during which the leader's early messages and the followers' acks go on
 * @param crashUnsyncedRate per-unit probability that a node with unsynced writes crashes, the leader
 *     when it has some: the crash between a write and its fsync that pipelining must survive
 */
public record Faults(
    int nodes,
    int spares,
    double lossRate,
    double dupRate,
    int maxDelayUnits,
    double partitionRate,
    double crashRate,
    int maxSyncDelayUnits,
    double proposalRate,
    int faultUnits,
    long maxMsgBytes,
    int maxInflight,
    double snapshotRate,
    int trailingEntries,
    double confChangeRate,
    double transferRate,
    double readRate,
    double syncStallRate,
    double crashUnsyncedRate) {

  /** A mix drawn from {@code seed}: every fault and feature appears in some runs, not in others. */
  public static Faults swarm(long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
    int[] sizes = {3, 5, 7};
    int nodes = sizes[r.nextInt(sizes.length)];
    int spares = r.nextInt(3);
    double loss = r.nextInt(4) == 0 ? 0 : r.nextDouble(0, 0.25);
    double dup = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.1);
    int delay = 1 + r.nextInt(r.nextBoolean() ? 5 : 40);
    double partition = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.004);
    double crash = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.003);
    int sync = r.nextInt(8);
    double propose = r.nextDouble(0.02, 0.3);
    long[] batch = {1, 100, 4096, 1 << 20};
    int[] window = {1, 2, 8, 64};
    double snapshots = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.01);
    int trailing = r.nextInt(3) == 0 ? 0 : r.nextInt(50);
    double confChanges = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.005);
    double transfers = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.002);
    double reads = r.nextInt(4) == 0 ? 0 : r.nextDouble(0, 0.2);
    long maxMsgBytes = batch[r.nextInt(batch.length)];
    int maxInflight = window[r.nextInt(window.length)];
    // Drawn last, so the draws above keep their values for every seed.
    double stalls = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.2);
    double crashUnsynced = r.nextInt(3) == 0 ? 0 : r.nextDouble(0, 0.004);
    return new Faults(nodes, spares, loss, dup, delay, partition, crash, sync, propose, 4000,
        maxMsgBytes, maxInflight, snapshots, trailing, confChanges, transfers, reads, stalls, crashUnsynced);
  }
}
