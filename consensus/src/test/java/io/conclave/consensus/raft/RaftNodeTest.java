package io.conclave.consensus.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.codec.Codec;
import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import io.conclave.consensus.message.AppendEntries;
import io.conclave.consensus.message.AppendEntriesResponse;
import io.conclave.consensus.message.Heartbeat;
import io.conclave.consensus.message.HeartbeatResponse;
import io.conclave.consensus.message.RequestVote;
import io.conclave.consensus.message.RequestVoteResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Scenario tests of the Raft rules, driven by hand over {@link TestNet}. */
class RaftNodeTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> commands(List<Entry> applied) {
    return applied.stream().filter(e -> e.type() == EntryType.COMMAND).map(e -> new String(e.data(), StandardCharsets.UTF_8)).toList();
  }

  /**
   * §10.2.1: a group of one commits a proposal only once the runtime reports it forced: the Ready
   * that writes it carries no commit, persisted() commits it, and the next Ready carries the commit
   * with a hard state that needs no sync (only the commit index moved).
   */
  @Test
  void soleVoterCommitsOnlyAfterPersisted() {
    RaftNode n = RaftNode.fresh(RaftConfig.of("a", Set.of("a")), new SplittableRandom(1));
    for (int i = 0; i < 30 && n.role() != Role.LEADER; i++) n.tick();
    assertThat(n.role()).isEqualTo(Role.LEADER);
    reportSynced(n, n.ready());
    assertThat(n.ready().committed()).extracting(Entry::type).containsExactly(EntryType.NOOP); // committed by the report
    long noopCommitted = n.commitIndex();
    assertThat(n.propose(b("x"))).isInstanceOf(ProposeResult.Accepted.class);
    Ready rd = n.ready();
    assertThat(rd.entries()).hasSize(1);
    assertThat(rd.mustSync()).isTrue();
    assertThat(rd.committed()).isEmpty(); // not durable anywhere yet
    assertThat(n.commitIndex()).isEqualTo(noopCommitted);
    Entry x = rd.entries().get(0);
    n.persisted(x.index(), x.term());
    assertThat(n.commitIndex()).isEqualTo(x.index());
    Ready next = n.ready();
    assertThat(next.committed()).containsExactly(x);
    assertThat(next.hardState().commit()).isEqualTo(x.index());
    assertThat(next.syncHardState()).isFalse();
    assertThat(next.mustSync()).isFalse(); // the commit index is volatile: no fsync for it
  }

  /** A report for an entry a conflict has since replaced is ignored (it says nothing about the new one). */
  @Test
  void persistedIgnoresAReplacedEntry() {
    RaftNode f = RaftNode.start(RaftConfig.of("b", Set.of("a", "b", "c")), TestNet.state(2, 1, 1), new SplittableRandom(2));
    f.step(new AppendEntries("a", "b", 3, 1, 1, List.of(Entry.command(2, 3, b("new"))), 1));
    Ready rd = f.ready();
    assertThat(rd.entries()).extracting(Entry::term).containsExactly(3L);
    f.persisted(2, 1); // the sync of the old entry 2@1, reported late: no longer ours
    f.persisted(2, 3);
    assertThat(f.lastTerm()).isEqualTo(3);
  }

  /**
   * §10.2.1: a leader whose term is durable sends AppendEntries before its own sync, but counts its
   * own log towards a commit only once persisted() says so; a follower's ack alone is not a majority
   * of three.
   */
  @Test
  void leaderSendsEarlyButCountsItselfOnlyWhenPersisted() {
    TestNet net = new TestNet(3);
    net.elect("n1");
    net.deliverAll();
    net.tickAll(3);
    net.deliverAll();
    RaftNode leader = net.node("n1");
    long committed = leader.commitIndex();
    leader.propose(b("p"));
    Ready rd = leader.ready(); // taken by hand: written, not yet synced
    assertThat(rd.mustSync()).isTrue();
    assertThat(rd.sendBeforeSync()).hasSize(2).allSatisfy(m -> assertThat(m).isInstanceOf(AppendEntries.class));
    assertThat(rd.messages()).isEmpty();
    net.queue.addAll(rd.sendBeforeSync());
    net.deliver(m -> m.to().equals("n2") || (m.from().equals("n2") && m.to().equals("n1")), 10);
    assertThat(leader.commitIndex()).as("n2's ack without the leader's own sync").isEqualTo(committed);
    Entry p = rd.entries().get(0);
    leader.persisted(p.index(), p.term());
    assertThat(leader.commitIndex()).isEqualTo(p.index());
  }

  /**
   * A sole voter with a learner that wins its election in one step has a term nobody forced yet: its
   * AppendEntries to the learner wait for the sync, in that Ready and in later ones, until the runtime
   * reports the hard state durable.
   */
  @Test
  void messagesWaitWhileTheTermIsNotDurable() {
    Configuration conf = Configuration.ofVoters(Set.of("a")).apply(ConfChange.addLearner("l"));
    var state = new io.conclave.consensus.log.LogStore.Recovered(new io.conclave.consensus.log.HardState(1, null, 1), 1,
        List.of(new Entry(1, 1, EntryType.CONFIG, conf.encode())));
    RaftNode n = RaftNode.start(RaftConfig.of("a", Set.of("a")), state, new SplittableRandom(3));
    for (int i = 0; i < 30 && n.role() != Role.LEADER; i++) n.tick();
    assertThat(n.role()).isEqualTo(Role.LEADER);
    Ready first = n.ready();
    assertThat(first.syncHardState()).isTrue();
    assertThat(first.sendBeforeSync()).isEmpty();
    assertThat(first.messages()).isNotEmpty().allSatisfy(m -> assertThat(m.to()).isEqualTo("l"));
    n.propose(b("q"));
    Ready second = n.ready(); // the first Ready's sync has not been reported
    assertThat(second.sendBeforeSync()).isEmpty();
    reportSynced(n, first);
    reportSynced(n, second);
    for (int i = 0; i < RaftConfig.DEFAULT_HEARTBEAT_TICKS; i++) n.tick();
    Ready third = n.ready();
    assertThat(third.sendBeforeSync()).isNotEmpty().allSatisfy(m -> assertThat(m.to()).isEqualTo("l"));
    assertThat(third.messages()).isEmpty();
  }

  /**
   * A follower's heartbeat answer claims nothing durable, so it leaves before any sync once the term
   * is forced; an AppendEntries answer (an ack of entries) and anything after a term change wait.
   */
  @Test
  void heartbeatResponseLeavesEarlyAppendResponseDoesNot() {
    RaftNode f = RaftNode.fresh(RaftConfig.of("b", Set.of("a", "b", "c")), new SplittableRandom(4));
    reportSynced(f, f.ready());
    f.step(new Heartbeat("a", "b", 5, 1, 1)); // a new term
    Ready termChange = f.ready();
    assertThat(termChange.syncHardState()).isTrue();
    assertThat(termChange.sendBeforeSync()).isEmpty();
    assertThat(termChange.messages()).singleElement().isInstanceOf(HeartbeatResponse.class);
    reportSynced(f, termChange);

    f.step(new AppendEntries("a", "b", 5, 1, 1, List.of(Entry.command(2, 5, b("e"))), 1));
    Ready append = f.ready(); // not reported: its sync is "in flight"
    assertThat(append.mustSync()).isTrue();
    assertThat(append.sendBeforeSync()).isEmpty();
    assertThat(append.messages()).singleElement().isInstanceOf(AppendEntriesResponse.class);

    f.step(new Heartbeat("a", "b", 5, 2, 2)); // carries the commit of entry 2
    Ready beat = f.ready();
    assertThat(beat.sendBeforeSync()).singleElement().isInstanceOf(HeartbeatResponse.class);
    assertThat(beat.messages()).isEmpty();
    assertThat(beat.mustSync()).isFalse(); // a commit-only hard state
    assertThat(beat.hardState().commit()).isEqualTo(2);
    assertThat(beat.committed()).extracting(Entry::index).containsExactly(2L); // applied after the sync before it
  }

  /** What a runtime reports once a Ready's writes are forced. */
  private static void reportSynced(RaftNode n, Ready rd) {
    if (!rd.entries().isEmpty()) {
      Entry last = rd.entries().get(rd.entries().size() - 1);
      n.persisted(last.index(), last.term());
    }
    if (rd.hardState() != null) n.persistedHardState(rd.hardState());
  }

  /** §5.2/§5.3: a leader is elected, replicates proposals, and every member applies them in order. */
  @Test
  void replicatesAndAppliesEverywhere() {
    TestNet net = new TestNet(3);
    net.elect("n1");
    for (int i = 0; i < 5; i++) net.node("n1").propose(b("c" + i));
    net.flush("n1");
    net.deliverAll();
    net.tickAll(3); // heartbeats carry the final commit index to followers
    net.deliverAll();
    for (String id : List.of("n1", "n2", "n3")) {
      assertThat(commands(net.applied.get(id))).as(id).containsExactly("c0", "c1", "c2", "c3", "c4");
    }
    assertThat(net.node("n2").propose(b("no"))).isEqualTo(new ProposeResult.NotLeader("n1"));
  }

  /** The typed codec: an application replicates its own type and decodes what is applied. */
  @Test
  void typedCodecRoundTrips() {
    Codec<Long> longs = new Codec<>() {
      public byte[] encode(Long v) { return java.nio.ByteBuffer.allocate(8).putLong(v).array(); }
      public Long decode(byte[] bytes) {
        if (bytes.length != 8) throw new IllegalArgumentException("want 8 bytes, got " + bytes.length);
        return java.nio.ByteBuffer.wrap(bytes).getLong();
      }
    };
    TestNet net = new TestNet(3);
    net.elect("n2");
    net.node("n2").propose(42L, longs);
    net.flush("n2");
    net.deliverAll();
    net.tickAll(3);
    net.deliverAll();
    Entry last = net.applied.get("n3").get(net.applied.get("n3").size() - 1);
    assertThat(longs.decode(last.data())).isEqualTo(42L);
  }

  /**
   * §9.6 pre-vote: a member cut off from the group keeps timing out, but without a majority of
   * pre-votes it never raises its term, so on rejoining it does not depose the healthy leader. The
   * same scenario without pre-vote shows the disruption the rule prevents.
   */
  @Test
  void preVoteStopsARejoiningMemberFromDeposingTheLeader() {
    assertThat(rejoinDisrupts(true)).isFalse();
    assertThat(rejoinDisrupts(false)).isTrue();
  }

  private static boolean rejoinDisrupts(boolean preVote) {
    TestNet net = new TestNet(3, c -> c.withSafety(false, preVote));
    net.elect("n1");
    long term = net.node("n1").term();
    net.isolate("n3");
    for (int i = 0; i < 100; i++) {
      net.tick("n3", 1);
      net.tick("n1", 1);
      net.tick("n2", 1);
      net.deliverAll();
    }
    net.heal();
    net.tickAll(3);
    net.deliverAll();
    return net.node("n1").role() != Role.LEADER || net.node("n1").term() != term;
  }

  /** §6.2 check-quorum: a leader that cannot hear a majority steps down within an election timeout. */
  @Test
  void checkQuorumStepsDownAMinorityLeader() {
    TestNet net = new TestNet(5);
    net.elect("n1");
    net.isolate("n1");
    net.tick("n1", RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS * 2);
    assertThat(net.node("n1").role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.node("n1").propose(b("x"))).isInstanceOf(ProposeResult.NotLeader.class);
    assertThat(net.node("n1").metrics().checkQuorumStepDowns).isEqualTo(1);
  }

  /** Leader stickiness: a follower that heard from its leader recently ignores a higher-term vote. */
  @Test
  void followerInLeaseIgnoresVoteRequests() {
    TestNet net = new TestNet(3);
    net.elect("n1");
    net.deliverAll(); // n2 hears from its leader
    RaftNode n2 = net.node("n2");
    long term = n2.term();
    n2.step(new RequestVote("n3", "n2", term + 5, 100, term + 4, false, false));
    assertThat(n2.term()).isEqualTo(term);
    assertThat(n2.ready().messages()).isEmpty();
    // A leadership transfer (transfer=true) is the exception.
    n2.step(new RequestVote("n3", "n2", term + 5, 100, term + 4, false, true));
    assertThat(n2.term()).isEqualTo(term + 5);
    assertThat(n2.ready().messages()).singleElement().isInstanceOfSatisfying(RequestVoteResponse.class, r -> assertThat(r.granted()).isTrue());
  }

  /**
   * §5.4.2 (Figure 8): a leader must not count replicas to commit an entry of an earlier term. Here
   * the term-4 leader n1 gets its term-2 entry 2 onto a majority (n1, n2, n3) while its own no-op 3 is
   * only on n1 and n2: entry 2 must stay uncommitted, because n5 (last term 3) could still be elected
   * and overwrite it. Only when the no-op reaches a majority do both commit.
   */
  @Test
  void commitsOnlyEntriesOfItsOwnTermByCounting() {
    TestNet net = new TestNet(5, c -> c.withFlowControl(1, 1)); // one entry per message
    net.start("n1", TestNet.state(3, 1, 2), 1);
    net.start("n2", TestNet.state(3, 1, 2), 2);
    net.start("n3", TestNet.state(3, 1), 3);
    net.start("n4", TestNet.state(3, 1), 4);
    net.start("n5", TestNet.state(3, 1, 3, 3), 5);
    net.isolate("n5");
    net.elect("n1"); // votes from n2, n3, n4: their last terms are at most 2
    RaftNode leader = net.node("n1");
    assertThat(leader.term()).isEqualTo(4);
    assertThat(leader.lastIndex()).isEqualTo(3); // the term-4 no-op
    net.cut.add("n1>n4");
    // Deliver everything except the no-op to n3, once n3 holds entry 2.
    RaftNode n3 = net.node("n3");
    net.deliver(m -> !(m instanceof AppendEntries ae && ae.to().equals("n3") && n3.lastIndex() >= 2 && ae.lastIndex() >= 3), 1_000);
    assertThat(n3.lastIndex()).isEqualTo(2);
    assertThat(net.node("n2").lastIndex()).isEqualTo(3);
    assertThat(leader.followerMatch()).containsEntry("n2", 3L).containsEntry("n3", 2L);
    assertThat(leader.commitIndex()).as("entry 2 (term 2) is on a majority but must not commit by counting").isLessThan(2);
    // Once the no-op reaches n3, a majority holds an entry of term 4: it commits, and 2 with it.
    net.deliverAll();
    net.tickAll(3);
    net.deliverAll();
    assertThat(leader.commitIndex()).isEqualTo(3);
  }

  /**
   * Fast backtracking (dissertation §5.3.5): a follower with 50 conflicting entries of an old term
   * costs the leader one rejection, not fifty.
   */
  @Test
  void fastBacktrackingSkipsAWholeTermPerRejection() {
    long[] leaderLog = new long[51];
    long[] staleLog = new long[51];
    leaderLog[0] = staleLog[0] = 1;
    for (int i = 1; i < 51; i++) {
      leaderLog[i] = 3;
      staleLog[i] = 2;
    }
    TestNet net = new TestNet(3);
    net.start("n1", TestNet.state(3, leaderLog), 1);
    net.start("n2", TestNet.state(3, staleLog), 2);
    net.start("n3", TestNet.state(3, leaderLog), 3);
    net.elect("n1");
    int[] rejections = {0};
    for (int i = 0; i < 200 && !net.queue.isEmpty(); i++) {
      net.deliver(m -> {
        if (m instanceof AppendEntriesResponse r && !r.success() && r.from().equals("n2")) rejections[0]++;
        return true;
      }, 1);
    }
    net.tickAll(3);
    net.deliverAll();
    assertThat(rejections[0]).isBetween(1, 2);
    assertThat(net.node("n2").lastIndex()).isEqualTo(52);
    assertThat(net.node("n2").entryAt(30).term()).isEqualTo(3);
  }

  /** Batching: one AppendEntries never carries more than maxMsgBytes of entries (unless one entry). */
  @Test
  void batchesAreBoundedInBytes() {
    TestNet net = new TestNet(3, c -> c.withFlowControl(1000, 256));
    net.elect("n1");
    net.tickAll(3);
    net.deliverAll();
    for (int i = 0; i < 100; i++) net.node("n1").propose(new byte[100]);
    net.flush("n1");
    List<AppendEntries> aes = net.queue.stream().filter(m -> m instanceof AppendEntries).map(m -> (AppendEntries) m).toList();
    assertThat(aes).isNotEmpty();
    for (AppendEntries ae : aes) {
      long bytes = ae.entries().stream().mapToLong(Entry::sizeBytes).sum();
      assertThat(bytes).isLessThanOrEqualTo(1000);
      assertThat(ae.entries()).hasSizeGreaterThan(1); // and they are batches, not one per entry
    }
  }

  /** Pipelining with flow control: at most maxInflightMsgs unacknowledged AppendEntries per follower. */
  @Test
  void pipelineStopsAtTheInflightWindow() {
    TestNet net = new TestNet(3, c -> c.withFlowControl(200, 4));
    net.elect("n1");
    net.tickAll(3);
    net.deliverAll();
    for (int i = 0; i < 100; i++) net.node("n1").propose(new byte[100]);
    net.flush("n1");
    long toN2 = net.queue.stream().filter(m -> m instanceof AppendEntries && m.to().equals("n2")).count();
    assertThat(toN2).isEqualTo(4);
    net.deliverAll(); // acknowledgements open the window again until everything is through
    net.tickAll(3);
    net.deliverAll();
    assertThat(net.node("n2").commitIndex()).isEqualTo(net.node("n1").lastIndex());
  }

  /** Figure 2: term and vote survive a restart, so a member never votes twice in one term. */
  @Test
  void termAndVoteSurviveRestart() {
    TestNet net = new TestNet(3);
    RaftNode n2 = net.node("n2");
    n2.step(new RequestVote("n1", "n2", 7, 0, 0, false, false));
    net.flush("n2");
    RaftNode again = net.start("n2", net.stores.get("n2").recovered(), 99);
    assertThat(again.term()).isEqualTo(7);
    again.step(new RequestVote("n3", "n2", 7, 0, 0, false, false));
    assertThat(again.ready().messages()).singleElement().isInstanceOfSatisfying(RequestVoteResponse.class, r -> assertThat(r.granted()).isFalse());
  }

  /** A deposed leader that missed the new term learns it from the first member it contacts. */
  @Test
  void staleLeaderLearnsTheNewTerm() {
    TestNet net = new TestNet(3);
    net.elect("n1");
    net.isolate("n1");
    String next = net.electAny();
    net.heal();
    net.tick("n1", RaftConfig.DEFAULT_HEARTBEAT_TICKS);
    net.deliverAll();
    assertThat(net.node("n1").role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.node("n1").term()).isEqualTo(net.node(next).term());
  }

  @Test
  void badConfigIsRefusedWithEveryProblem() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new RaftConfig("", Set.of("a"), 1, 0, 0, 0, true, true, 0, 1, 1, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("id is empty")
        .hasMessageContaining("electionTimeoutTicks 1 < 2")
        .hasMessageContaining("heartbeatTicks 0 < 1")
        .hasMessageContaining("maxInflightMsgs 0 < 1");
  }
}
