package io.conclave.consensus.sim;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.log.MemoryLogStore;
import io.conclave.consensus.message.Message;
import io.conclave.consensus.raft.ConfChange;
import io.conclave.consensus.raft.Configuration;
import io.conclave.consensus.raft.ProposeResult;
import io.conclave.consensus.raft.RaftConfig;
import io.conclave.consensus.raft.RaftNode;
import io.conclave.consensus.raft.ReadState;
import io.conclave.consensus.raft.Ready;
import io.conclave.consensus.raft.Role;
import io.conclave.consensus.raft.Snapshot;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * One seeded run of a Raft group over a simulated network, on one thread with a virtual clock.
 *
 * <p>Each node is a {@link RaftNode} with a {@link MemoryLogStore} and a runtime that behaves like the
 * daemon's: it sends a {@link Ready}'s {@code sendBeforeSync} at once, writes the Ready to the store,
 * and sends its other messages, applies its committed entries and serves its reads only after a sync
 * that may come several units later (group commit) and may stall much longer; after each sync it
 * reports what it forced ({@link RaftNode#persisted}, {@link RaftNode#persistedHardState}). A crash
 * throws away unsynced writes and the pending outputs (faults also crash nodes, the leader first, in
 * the window between a write and its sync); a restart rebuilds the node from what its store had
 * forced. The state machine is a register holding the index of the last applied
 * command, plus a hash of the applied log, which snapshots carry.
 *
 * <p>Run = fault phase (loss, duplication, delay/reordering, symmetric and one-way partitions,
 * crashes, clock skew, snapshots, membership changes, leadership transfers, reads) in which
 * {@link Invariants} are checked after every step, then a heal phase in which a leader must appear
 * and a new command must be applied by every member within a bound.
 */
public final class Simulator {
  /** Heal-phase base bound, in units: generous next to a ~100-unit election timeout. */
  static final int LIVENESS_BOUND_UNITS = 6000;
  /** Lease drift allowance for this clock skew: periods 8..12 units mean followers may run 1.5× fast. */
  static final int LEASE_DRIFT_TICKS = 4;

  final long seed;
  final Faults faults;
  private final SplittableRandom rnd;
  final List<SimNode> nodes = new ArrayList<>();
  private final Map<String, SimNode> byId = new HashMap<>();
  private final Set<String> initialVoters;
  private final PriorityQueue<InFlight> network = new PriorityQueue<>();
  private long seq;
  long now;
  // Directed links that drop everything: "a>b".
  private final Set<String> blocked = new HashSet<>();
  private long partitionEndsAt = -1;
  private boolean healed;
  private int proposals;
  private long readIds;
  final Invariants invariants;
  private final ArrayDeque<String> trace = new ArrayDeque<>();
  private static final int TRACE_LINES = Integer.getInteger("sim.trace", 80);
  long messagesDelivered;
  long readsServed;
  long snapshotsInstalled;
  long confChanges;

  public Simulator(long seed, Faults faults) {
    this.seed = seed;
    this.faults = faults;
    this.rnd = new SplittableRandom(seed);
    TreeSet<String> ids = new TreeSet<>();
    for (int i = 1; i <= faults.nodes(); i++) ids.add("n" + i);
    this.initialVoters = ids;
    List<String> all = new ArrayList<>(ids);
    for (int i = 1; i <= faults.spares(); i++) all.add("s" + i);
    for (String id : all) {
      SimNode n = new SimNode(id, 8 + rnd.nextInt(5), rnd.nextInt(8));
      nodes.add(n);
      byId.put(id, n);
    }
    this.invariants = new Invariants(this);
    for (SimNode n : nodes) n.start(config(n.id), rnd.nextLong());
  }

  RaftConfig config(String id) {
    // Spares start outside the group: no bootstrap voters, they wait to be added.
    return RaftConfig.of(id, id.startsWith("s") ? Set.of() : initialVoters)
        .withFlowControl(faults.maxMsgBytes(), faults.maxInflight())
        .withSnapshots(64, faults.trailingEntries())
        .withLeaseDrift(LEASE_DRIFT_TICKS);
  }

  /** Runs both phases; throws {@link AssertionError} (with a trace) on any violation. */
  public void run() {
    try {
      // Bootstrap: each voter forces its first entry (the initial configuration) before anything else,
      // as the daemon does; until all have, that entry is committed by construction, not by quorum.
      invariants.enabled = false;
      for (SimNode n : nodes) {
        afterInput(n, "start");
        sync(n);
      }
      invariants.enabled = true;
      for (; now < faults.faultUnits(); now++) stepUnit(false);
      heal();
      checkLiveness();
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError(
          "seed=" + seed + " " + faults + " at t=" + now + ": " + e
              + "\nlast events:\n  " + String.join("\n  ", trace), e);
    }
  }

  private void stepUnit(boolean quiet) {
    if (!quiet) maybeInjectFaults();
    // Deliver what is due, in arrival order (random delays already reordered them).
    while (!network.isEmpty() && network.peek().at <= now) deliver(network.poll());
    for (SimNode n : nodes) {
      if (!n.up) continue;
      if ((now + n.phase) % n.tickPeriod == 0) {
        n.raft.tick();
        afterInput(n, "tick");
      }
      if (n.syncAt >= 0 && n.syncAt <= now) sync(n);
    }
    if (quiet) return;
    if (rnd.nextDouble() < faults.proposalRate()) propose();
    if (rnd.nextDouble() < faults.readRate()) read();
    if (rnd.nextDouble() < faults.snapshotRate()) takeSnapshot(nodes.get(rnd.nextInt(nodes.size())));
    if (rnd.nextDouble() < faults.confChangeRate()) changeConfiguration();
    if (rnd.nextDouble() < faults.transferRate()) transferLeadership();
  }

  private void maybeInjectFaults() {
    if (partitionEndsAt >= 0 && now >= partitionEndsAt) {
      blocked.clear();
      partitionEndsAt = -1;
      log("partition healed");
    } else if (partitionEndsAt < 0 && rnd.nextDouble() < faults.partitionRate()) {
      startPartition();
    }
    if (rnd.nextDouble() < faults.crashRate()) {
      SimNode n = nodes.get(rnd.nextInt(nodes.size()));
      if (n.up) crash(n);
    }
    if (rnd.nextDouble() < faults.crashUnsyncedRate()) crashMidWrite();
    for (SimNode n : nodes) {
      if (!n.up && n.restartAt <= now) restart(n);
    }
  }

  private void startPartition() {
    List<String> ids = new ArrayList<>(byId.keySet());
    ids.sort(null);
    int kind = rnd.nextInt(3);
    if (kind == 0) {
      Set<String> side = new HashSet<>();
      for (String id : ids) if (rnd.nextBoolean()) side.add(id);
      for (String a : ids) for (String b : ids) if (side.contains(a) != side.contains(b)) blocked.add(a + ">" + b);
      log("partition " + side + " | rest");
    } else if (kind == 1) {
      String victim = currentLeader() != null && rnd.nextBoolean() ? currentLeader() : ids.get(rnd.nextInt(ids.size()));
      for (String b : ids) if (!b.equals(victim)) {
        blocked.add(victim + ">" + b);
        blocked.add(b + ">" + victim);
      }
      log("isolate " + victim);
    } else {
      for (String a : ids) for (String b : ids) if (!a.equals(b) && rnd.nextInt(4) == 0) blocked.add(a + ">" + b);
      log("one-way " + blocked);
    }
    partitionEndsAt = now + 50 + rnd.nextInt(800);
  }

  private void crash(SimNode n) {
    n.up = false;
    n.store.crash();
    n.pending.clear();
    n.reads.clear();
    n.syncAt = -1;
    n.restartAt = now + 10 + rnd.nextInt(600);
    invariants.onCrash(n);
    log("crash " + n.id + " (restart at " + n.restartAt + ")");
  }

  /** Crashes a node that has written but not yet forced: the leader when it has, else any such node. */
  private void crashMidWrite() {
    String leader = currentLeader();
    SimNode victim = leader != null && byId.get(leader).syncAt >= 0 ? byId.get(leader) : null;
    if (victim == null) {
      List<SimNode> unsynced = new ArrayList<>();
      for (SimNode n : nodes) if (n.up && n.syncAt >= 0) unsynced.add(n);
      if (unsynced.isEmpty()) return;
      victim = unsynced.get(rnd.nextInt(unsynced.size()));
    }
    log("crash mid-write " + victim.id + " last=" + victim.raft.lastIndex() + " forced=" + victim.durable.last());
    crash(victim);
  }

  private void restart(SimNode n) {
    n.start(config(n.id), rnd.nextLong());
    invariants.onRestart(n);
    log("restart " + n.id + " term=" + n.raft.term() + " last=" + n.raft.lastIndex() + " applied=" + n.appliedIndex);
    afterInput(n, "restart");
  }

  private String currentLeader() {
    SimNode best = null;
    for (SimNode n : nodes) {
      if (n.up && n.raft.role() == Role.LEADER && (best == null || n.raft.term() > best.raft.term())) best = n;
    }
    return best == null ? null : best.id;
  }

  private SimNode leaderOrRandom() {
    String leader = currentLeader();
    return leader != null && rnd.nextInt(5) != 0 ? byId.get(leader) : nodes.get(rnd.nextInt(nodes.size()));
  }

  private void propose() {
    SimNode target = leaderOrRandom();
    if (!target.up) return;
    byte[] cmd = ("cmd-" + seed + "-" + proposals++).getBytes(StandardCharsets.UTF_8);
    ProposeResult r = target.raft.propose(cmd);
    if (r instanceof ProposeResult.Accepted a) {
      target.proposed.put(a.index(), a.term());
      log("propose at " + target.id + " -> " + a.index() + "@" + a.term());
    }
    afterInput(target, "propose");
  }

  /** A client read at a random node: ReadIndex or lease, checked when served. */
  private void read() {
    SimNode n = nodes.get(rnd.nextInt(nodes.size()));
    if (!n.up) return;
    long id = ++readIds;
    boolean lease = rnd.nextBoolean();
    n.readsStarted.put(id, invariants.ackedWriteIndex());
    n.raft.read(id, lease);
    afterInput(n, "read " + id + (lease ? " lease" : " index"));
  }

  /** The application snapshots its state (applied index + state hash) and the core compacts. */
  private void takeSnapshot(SimNode n) {
    if (!n.up || n.appliedIndex < 1 || n.appliedIndex > n.raft.appliedIndex()) return;
    Snapshot before = n.raft.snapshot();
    if (before != null && before.index() >= n.appliedIndex) return;
    byte[] data = ByteBuffer.allocate(16).putLong(n.appliedIndex).putLong(n.stateHash).array();
    n.raft.compact(n.appliedIndex, data);
    n.store.saveSnapshot(n.raft.snapshot());
    n.store.compact(n.raft.firstIndex() - 1);
    log("snapshot at " + n.id + " index " + n.appliedIndex + ", log starts at " + n.raft.firstIndex());
    n.dirty();
    scheduleSync(n);
    afterInput(n, "snapshot");
  }

  private void changeConfiguration() {
    String leaderId = currentLeader();
    if (leaderId == null) return;
    SimNode leader = byId.get(leaderId);
    Configuration conf = leader.raft.configuration();
    List<ConfChange> options = new ArrayList<>();
    for (SimNode n : nodes) {
      if (!conf.contains(n.id)) options.add(ConfChange.addLearner(n.id));
    }
    for (String l : conf.learners()) options.add(ConfChange.promote(l));
    if (conf.voters().size() > 1) for (String v : conf.voters()) options.add(ConfChange.remove(v));
    for (String l : conf.learners()) options.add(ConfChange.remove(l));
    if (options.isEmpty()) return;
    ConfChange change = options.get(rnd.nextInt(options.size()));
    ProposeResult r = leader.raft.proposeConfChange(change);
    if (r instanceof ProposeResult.Accepted) Invariants.checkSingleStep(conf, leader.raft.configuration());
    log("conf change " + change + " at " + leaderId + " -> " + r);
    if (r instanceof ProposeResult.Accepted) confChanges++;
    afterInput(leader, "conf change");
  }

  private void transferLeadership() {
    String leaderId = currentLeader();
    if (leaderId == null) return;
    SimNode leader = byId.get(leaderId);
    List<String> voters = new ArrayList<>(leader.raft.configuration().voters());
    String target = rnd.nextBoolean() ? null : voters.get(rnd.nextInt(voters.size()));
    ProposeResult r = leader.raft.transferLeadership(target);
    log("transfer from " + leaderId + " to " + target + " -> " + r);
    afterInput(leader, "transfer");
  }

  private void deliver(InFlight f) {
    SimNode to = byId.get(f.msg.to());
    if (to == null || !to.up) return;
    messagesDelivered++;
    to.raft.step(f.msg);
    afterInput(to, f.msg.getClass().getSimpleName() + " from " + f.msg.from());
  }

  /**
   * The runtime half: send the early messages, write the Ready, hold its other outputs until the next
   * sync (behind any Ready still waiting for one).
   */
  private void afterInput(SimNode n, String what) {
    Ready rd = n.raft.ready();
    if (n.raft.role() != n.seenRole || n.raft.term() != n.seenTerm) {
      n.seenRole = n.raft.role();
      n.seenTerm = n.raft.term();
      log(n.id + " " + n.seenRole + " term=" + n.seenTerm + " last=" + n.raft.lastIndex() + " (" + what + ")");
    }
    if (!rd.isEmpty()) {
      for (Message m : rd.sendBeforeSync()) send(m);
      if (rd.snapshot() != null) {
        n.store.saveSnapshot(rd.snapshot());
        invariants.onSnapshotWrite(n, rd.snapshot());
        n.writtenIndex = rd.snapshot().index();
        n.writtenTerm = rd.snapshot().term();
      }
      if (!rd.entries().isEmpty()) {
        n.store.append(rd.entries());
        Entry last = rd.entries().get(rd.entries().size() - 1);
        n.writtenIndex = last.index();
        n.writtenTerm = last.term();
      }
      if (rd.hardState() != null) {
        n.store.saveHardState(rd.hardState());
        n.writtenHardState = rd.hardState();
      }
      invariants.onWrite(n, rd.entries());
      if (rd.mustSync() || !n.pending.isEmpty()) {
        n.pending.add(rd);
        if (rd.mustSync()) n.dirty();
        scheduleSync(n);
        if (n.syncAt <= now) sync(n);
      } else {
        release(n, rd);
      }
    }
    invariants.check(what + " at " + n.id);
  }

  private void scheduleSync(SimNode n) {
    if (n.syncAt >= 0) return;
    long delay = faults.maxSyncDelayUnits() == 0 ? 0 : rnd.nextInt(faults.maxSyncDelayUnits() + 1);
    if (!healed && faults.syncStallRate() > 0 && rnd.nextDouble() < faults.syncStallRate()) delay += 20 + rnd.nextInt(101);
    n.syncAt = now + delay;
  }

  /** Forces the node's writes, carries out what waited for them, then reports the sync to the core. */
  private void sync(SimNode n) {
    n.store.sync();
    n.syncAt = -1;
    invariants.onSync(n);
    List<Ready> batch = new ArrayList<>(n.pending);
    n.pending.clear();
    for (Ready rd : batch) release(n, rd);
    invariants.check("sync at " + n.id);
    n.raft.persisted(n.writtenIndex, n.writtenTerm);
    if (n.writtenHardState != null) n.raft.persistedHardState(n.writtenHardState);
    afterInput(n, "persisted at " + n.id); // the report may commit (a leader's own log counts now)
  }

  private void release(SimNode n, Ready rd) {
    for (Message m : rd.messages()) send(m);
    if (rd.snapshot() != null) {
      invariants.onRestore(n, rd.snapshot());
      snapshotsInstalled++;
    }
    for (Entry e : rd.committed()) {
      invariants.onApply(n, e);
      Long proposedTerm = n.proposed.remove(e.index());
      if (e.type() == EntryType.COMMAND && proposedTerm != null && proposedTerm == e.term()) invariants.onAcknowledged(e);
      n.proposed.headMap(e.index()).clear();
    }
    for (ReadState r : rd.reads()) {
      Long ackedAtStart = n.readsStarted.remove(r.requestId());
      if (ackedAtStart == null || !r.ok()) continue;
      n.reads.add(new long[] {r.requestId(), r.index(), ackedAtStart});
    }
    serveReads(n);
  }

  /** Serves reads whose index the state machine has reached, checking them against the register. */
  private void serveReads(SimNode n) {
    n.reads.removeIf(r -> {
      if (n.appliedIndex < r[1]) return false;
      invariants.checkRead(n, r[0], r[2]);
      readsServed++;
      return true;
    });
  }

  private void send(Message m) {
    if (blocked.contains(m.from() + ">" + m.to())) return;
    if (!healed && rnd.nextDouble() < faults.lossRate()) return;
    int copies = !healed && rnd.nextDouble() < faults.dupRate() ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      network.add(new InFlight(now + 1 + rnd.nextInt(faults.maxDelayUnits()), seq++, m));
    }
  }

  private void heal() {
    healed = true;
    blocked.clear();
    partitionEndsAt = -1;
    for (SimNode n : nodes) if (!n.up) restart(n);
    log("heal");
  }

  /** After healing, a leader must emerge and a fresh command must be applied by every member. */
  private void checkLiveness() {
    long deadline = now + livenessBoundUnits();
    byte[] probe = ("liveness-" + seed).getBytes(StandardCharsets.UTF_8);
    long probeIndex = -1;
    long probeTerm = -1;
    for (; now < deadline; now++) {
      stepUnit(true);
      String leader = currentLeader();
      long committedTerm = probeIndex > 0 ? invariants.committedTerm(probeIndex) : -1;
      if (committedTerm > 0 && committedTerm != probeTerm) probeIndex = -1; // overwritten: propose again
      if (probeIndex > 0 && committedTerm == probeTerm && leader != null) {
        boolean everywhere = true;
        for (String m : byId.get(leader).raft.configuration().members()) everywhere &= byId.get(m).appliedIndex >= probeIndex;
        if (everywhere) {
          invariants.requireCommitted(probeIndex, probeTerm);
          return;
        }
      }
      // (Re)propose if none is pending, or if the term moved on (the entry may have been dropped).
      if (leader != null && (probeIndex < 0 || byId.get(leader).raft.term() != probeTerm)) {
        ProposeResult r = byId.get(leader).raft.propose(probe);
        if (r instanceof ProposeResult.Accepted a) {
          probeIndex = a.index();
          probeTerm = a.term();
          log("liveness probe at " + leader + " -> " + a.index() + "@" + a.term());
        }
        afterInput(byId.get(leader), "propose");
      }
    }
    StringBuilder sb = new StringBuilder("no progress within " + livenessBoundUnits() + " units after healing:");
    for (SimNode n : nodes) sb.append("\n    ").append(n.raft).append(" applied=").append(n.appliedIndex);
    throw new AssertionError(sb.toString());
  }

  /**
   * The heal-phase bound: a fixed allowance for electing a leader, plus the time to ship the backlog
   * to the slowest node at the configured batch size and window, one round trip per window.
   */
  private long livenessBoundUnits() {
    long last = 0;
    long minApplied = Long.MAX_VALUE;
    for (SimNode n : nodes) {
      last = Math.max(last, n.raft.lastIndex());
      minApplied = Math.min(minApplied, n.appliedIndex);
    }
    long perMsg = Math.max(1, faults.maxMsgBytes() / 60);
    long roundTrip = 2L * faults.maxDelayUnits() + faults.maxSyncDelayUnits() + 2;
    return LIVENESS_BOUND_UNITS + (last - minApplied) * roundTrip / (perMsg * faults.maxInflight()) + 1;
  }

  void log(String line) {
    trace.addLast("t=" + now + " " + line);
    if (trace.size() > TRACE_LINES) trace.removeFirst();
  }

  private record InFlight(long at, long seq, Message msg) implements Comparable<InFlight> {
    @Override
    public int compareTo(InFlight o) {
      return at != o.at ? Long.compare(at, o.at) : Long.compare(seq, o.seq);
    }
  }

  /** A node and its simulated runtime and state machine. */
  static final class SimNode {
    final String id;
    final int tickPeriod;
    final int phase;
    final MemoryLogStore store = new MemoryLogStore();
    RaftNode raft;
    boolean up = true;
    long restartAt;
    long syncAt = -1;
    final List<Ready> pending = new ArrayList<>();
    // The last entry (or snapshot) and hard state written to the store: what the next sync forces.
    long writtenIndex;
    long writtenTerm;
    io.conclave.consensus.log.HardState writtenHardState;
    Role seenRole; // for the trace: role and term transitions
    long seenTerm = -1;
    // State machine: applied index, hash of the applied log, index of the last applied command.
    long appliedIndex;
    long stateHash;
    long register;
    // Proposals accepted here (index -> term), acknowledged when applied here.
    final java.util.TreeMap<Long, Long> proposed = new java.util.TreeMap<>();
    // Reads: id -> acknowledged write index at start; confirmed reads {id, index, ackedAtStart}.
    final Map<Long, Long> readsStarted = new HashMap<>();
    final List<long[]> reads = new ArrayList<>();
    // Shadows of the working and the durable log: term and prefix hash per index (index 0 = empty).
    LogShadow work = new LogShadow();
    LogShadow durable = new LogShadow();
    long unsyncedFrom = Long.MAX_VALUE; // lowest index written since the last sync

    SimNode(String id, int tickPeriod, int phase) {
      this.id = id;
      this.tickPeriod = tickPeriod;
      this.phase = phase;
    }

    void start(RaftConfig config, long randomSeed) {
      LogStore.Recovered state = store.recovered();
      raft = RaftNode.start(config, state, new SplittableRandom(randomSeed));
      writtenIndex = raft.lastIndex(); // a brand new voter's bootstrap entry is not written yet, but
      writtenTerm = raft.lastTerm();   // its first Ready writes it before the first sync
      writtenHardState = null;
      up = true;
      proposed.clear();
      readsStarted.clear();
      reads.clear();
      // The in-memory state machine restarts from the stored snapshot, or from nothing.
      Snapshot s = state.snapshot();
      if (s == null) {
        appliedIndex = 0;
        stateHash = 0;
        register = 0;
      } else {
        ByteBuffer b = ByteBuffer.wrap(s.data());
        appliedIndex = b.getLong();
        stateHash = b.getLong();
        register = -1; // unknown until the next command; reads check the applied index instead
      }
    }

    void dirty() {}
  }
}
