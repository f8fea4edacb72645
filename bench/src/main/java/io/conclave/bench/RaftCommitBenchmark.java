package io.conclave.bench;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.message.Message;
import io.conclave.consensus.raft.RaftConfig;
import io.conclave.consensus.raft.RaftNode;
import io.conclave.consensus.raft.Ready;
import io.conclave.consensus.raft.Role;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Proposals committed per second by a 3-member group of {@link RaftNode}s with no IO: messages pass
 * through an in-memory queue, Readies are consumed at once. Measures the core's own cost (the bound
 * it puts on the daemon), not a network or disk.
 *
 * <p>{@link #commit()}: each invocation proposes {@value #PROPOSALS} 64-byte commands to the leader
 * in rounds of {@code batch} (the proposals one event-loop turn would gather), delivering messages
 * until the leader has committed them all. {@link #readIndex()}: the same for linearizable reads
 * through ReadIndex (each round of {@code batch} reads shares one heartbeat round), counted when the
 * leader hands back their ReadState; {@link #leaseRead()} the same with the lease.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RaftCommitBenchmark {
  static final int PROPOSALS = 4096;

  /** Proposals gathered between two ready() calls. */
  @Param({"1", "64", "512"})
  public int batch;

  private final Map<String, RaftNode> nodes = new HashMap<>();
  private final ArrayDeque<Message> queue = new ArrayDeque<>();
  private RaftNode leader;
  private final byte[] payload = new byte[64];
  long applied;
  long readsAnswered;
  long readId;

  @Setup(Level.Trial)
  public void setUp() {
    Set<String> ids = Set.of("a", "b", "c");
    long seed = 1;
    for (String id : ids) nodes.put(id, RaftNode.fresh(RaftConfig.of(id, ids), new SplittableRandom(seed++)));
    RaftNode a = nodes.get("a");
    for (int i = 0; i < 100 && a.role() != Role.LEADER; i++) {
      a.tick();
      drain(a);
      deliverAll();
    }
    if (a.role() != Role.LEADER) throw new IllegalStateException("no leader: " + a);
    leader = a;
  }

  @Benchmark
  @OperationsPerInvocation(PROPOSALS)
  public long commit() {
    long target = leader.lastIndex() + PROPOSALS;
    for (int sent = 0; sent < PROPOSALS; ) {
      for (int i = 0; i < batch && sent < PROPOSALS; i++, sent++) leader.propose(payload);
      drain(leader);
      deliverAll();
    }
    while (leader.commitIndex() < target) {
      for (RaftNode n : nodes.values()) {
        n.tick();
        drain(n);
      }
      deliverAll();
    }
    // Keep memory flat across invocations, as the daemon's snapshot policy does.
    for (RaftNode n : nodes.values()) n.compact(n.appliedIndex(), EMPTY);
    return applied;
  }

  private static final byte[] EMPTY = new byte[0];

  @Benchmark
  @OperationsPerInvocation(PROPOSALS)
  public long readIndex() {
    return reads(false);
  }

  @Benchmark
  @OperationsPerInvocation(PROPOSALS)
  public long leaseRead() {
    return reads(true);
  }

  private long reads(boolean lease) {
    long target = readsAnswered + PROPOSALS;
    for (int sent = 0; sent < PROPOSALS; ) {
      for (int i = 0; i < batch && sent < PROPOSALS; i++, sent++) leader.read(++readId, lease);
      drain(leader);
      deliverAll();
    }
    for (int i = 0; readsAnswered < target; i++) {
      if (i > 1000) throw new IllegalStateException("reads not answered: " + readsAnswered + " < " + target);
      for (RaftNode n : nodes.values()) {
        n.tick();
        drain(n);
      }
      deliverAll();
    }
    return readsAnswered;
  }

  /** Carries out n's Readies as a runtime whose syncs complete at once: send, report the sync, apply. */
  private void drain(RaftNode n) {
    for (Ready rd = n.ready(); !rd.isEmpty(); rd = n.ready()) {
      queue.addAll(rd.sendBeforeSync());
      if (!rd.entries().isEmpty()) {
        Entry last = rd.entries().get(rd.entries().size() - 1);
        n.persisted(last.index(), last.term()); // may commit: the leader counts itself once forced
      }
      if (rd.hardState() != null) n.persistedHardState(rd.hardState());
      queue.addAll(rd.messages());
      applied += rd.committed().size();
      readsAnswered += rd.reads().size();
    }
  }

  private void deliverAll() {
    Message m;
    while ((m = queue.poll()) != null) {
      RaftNode to = nodes.get(m.to());
      to.step(m);
      drain(to);
    }
  }
}
