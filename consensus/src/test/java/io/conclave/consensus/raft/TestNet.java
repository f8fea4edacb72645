package io.conclave.consensus.raft;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.log.MemoryLogStore;
import io.conclave.consensus.message.Message;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * A hand-driven network for scenario tests: messages wait in a queue until the test delivers them,
 * links can be cut, and every Ready is carried out at once (persist, then send, then apply).
 */
final class TestNet {
  final Map<String, RaftNode> nodes = new LinkedHashMap<>();
  final Map<String, MemoryLogStore> stores = new LinkedHashMap<>();
  final Map<String, List<Entry>> applied = new LinkedHashMap<>();
  final Map<String, List<ReadState>> reads = new LinkedHashMap<>();
  final List<Message> queue = new ArrayList<>();
  final Set<String> cut = new HashSet<>();
  private final Set<String> ids;
  private final java.util.function.UnaryOperator<RaftConfig> tweak;

  TestNet(int n) {
    this(n, c -> c);
  }

  TestNet(int n, java.util.function.UnaryOperator<RaftConfig> tweak) {
    this.tweak = tweak;
    ids = new TreeSet<>();
    for (int i = 1; i <= n; i++) ids.add("n" + i);
    for (String id : ids) start(id, LogStore.Recovered.empty(), i(id));
  }

  private static long i(String id) {
    return Long.parseLong(id.substring(1));
  }

  RaftConfig config(String id) {
    return tweak.apply(RaftConfig.of(id, ids));
  }

  /** (Re)starts a node from a given state, e.g. to build a scenario's logs directly. */
  RaftNode start(String id, LogStore.Recovered state, long seed) {
    RaftNode node = RaftNode.start(config(id), state, new SplittableRandom(seed));
    nodes.put(id, node);
    MemoryLogStore store = new MemoryLogStore(); // holds exactly the state the node starts from
    if (state.snapshot() != null) store.saveSnapshot(state.snapshot());
    store.append(state.entries());
    store.saveHardState(state.hardState());
    store.sync();
    stores.put(id, store);
    applied.put(id, new ArrayList<>());
    reads.put(id, new ArrayList<>());
    return node;
  }

  /** A new member that joins the existing group: no bootstrap voters, waits to be added. */
  RaftNode join(String id) {
    RaftNode node = RaftNode.start(tweak.apply(RaftConfig.of(id, Set.of())), LogStore.Recovered.empty(), new SplittableRandom(id.hashCode()));
    nodes.put(id, node);
    stores.put(id, new MemoryLogStore());
    applied.put(id, new ArrayList<>());
    reads.put(id, new ArrayList<>());
    return node;
  }

  static LogStore.Recovered state(long term, long... entryTerms) {
    List<Entry> log = new ArrayList<>();
    for (int i = 0; i < entryTerms.length; i++) log.add(Entry.command(i + 1, entryTerms[i], new byte[] {(byte) i, (byte) entryTerms[i]}));
    return new LogStore.Recovered(new HardState(term, null, 0), 1, log);
  }

  RaftNode node(String id) {
    return nodes.get(id);
  }

  /**
   * Carries out the node's Readies: queue the early messages, persist, sync and report it, queue the
   * rest, apply; again while the report produced more (a leader's own durability may commit).
   */
  void flush(String id) {
    RaftNode node = nodes.get(id);
    MemoryLogStore store = stores.get(id);
    for (Ready rd = node.ready(); !rd.isEmpty(); rd = node.ready()) {
      queueAll(rd.sendBeforeSync());
      if (rd.snapshot() != null) store.saveSnapshot(rd.snapshot());
      if (!rd.entries().isEmpty()) store.append(rd.entries());
      if (rd.hardState() != null) store.saveHardState(rd.hardState());
      store.sync(); // everything is forced at once here, so reporting it is always true
      if (!rd.entries().isEmpty()) {
        Entry last = rd.entries().get(rd.entries().size() - 1);
        node.persisted(last.index(), last.term());
      } else if (rd.snapshot() != null) {
        node.persisted(rd.snapshot().index(), rd.snapshot().term());
      }
      if (rd.hardState() != null) node.persistedHardState(rd.hardState());
      queueAll(rd.messages());
      applied.get(id).addAll(rd.committed());
      reads.get(id).addAll(rd.reads());
    }
  }

  private void queueAll(List<Message> msgs) {
    for (Message m : msgs) if (!cut.contains(m.from() + ">" + m.to()) && !cut.contains(m.from()) && !cut.contains(m.to())) queue.add(m);
  }

  void flushAll() {
    for (String id : nodes.keySet()) flush(id);
  }

  void tick(String id, int times) {
    for (int k = 0; k < times; k++) {
      nodes.get(id).tick();
      flush(id);
    }
  }

  void tickAll(int times) {
    for (int k = 0; k < times; k++) for (String id : nodes.keySet()) tick(id, 1);
  }

  /** Delivers queued messages (and their consequences) until the queue is empty or rounds run out. */
  int deliverAll() {
    return deliver(m -> true, 10_000);
  }

  int deliver(Predicate<Message> which, int maxMessages) {
    int n = 0;
    while (n < maxMessages) {
      Message next = null;
      for (Message m : queue) if (which.test(m)) { next = m; break; }
      if (next == null) break;
      queue.remove(next);
      n++;
      if (cut.contains(next.from() + ">" + next.to()) || cut.contains(next.from()) || cut.contains(next.to())) continue;
      nodes.get(next.to()).step(next);
      flush(next.to());
    }
    return n;
  }

  void drop(Predicate<Message> which) {
    queue.removeIf(which);
  }

  void isolate(String id) {
    cut.add(id);
  }

  void heal() {
    cut.clear();
  }

  /** Ticks one node until it is leader, delivering only vote traffic (replication stays queued). */
  void elect(String id) {
    ageOthers(id);
    for (int k = 0; k < 100 && nodes.get(id).role() != Role.LEADER; k++) {
      tick(id, 1);
      deliver(m -> m instanceof io.conclave.consensus.message.RequestVote
          || m instanceof io.conclave.consensus.message.RequestVoteResponse, 10_000);
    }
    if (nodes.get(id).role() != Role.LEADER) throw new AssertionError(id + " did not become leader: " + nodes.get(id));
  }

  /**
   * Lets every other member's election timeout pass without delivering what that makes it send, so
   * a restarted member's startup lease (it refuses votes for one timeout) is over.
   */
  private void ageOthers(String id) {
    for (var e : nodes.entrySet()) {
      if (e.getKey().equals(id) || e.getValue().role() == Role.LEADER) continue;
      for (int k = 0; k < e.getValue().ticksSinceLeaderContact() + RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS && e.getValue().role() == Role.FOLLOWER; k++) {
        tick(e.getKey(), 1);
      }
      String other = e.getKey();
      drop(m -> m.from().equals(other));
    }
  }

  /** Ticks every member that is not isolated until one of them leads. */
  String electAny() {
    for (int k = 0; k < 200; k++) {
      for (String id : nodes.keySet()) if (!cut.contains(id)) tick(id, 1);
      deliverAll();
      for (String id : nodes.keySet()) if (!cut.contains(id) && nodes.get(id).role() == Role.LEADER) return id;
    }
    throw new AssertionError("no leader elected");
  }

  String leader() {
    String best = null;
    for (var e : nodes.entrySet()) {
      if (!cut.contains(e.getKey()) && e.getValue().role() == Role.LEADER
          && (best == null || e.getValue().term() > nodes.get(best).term())) best = e.getKey();
    }
    return best;
  }
}
