package io.conclave.consensus.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.message.AppendEntries;
import io.conclave.consensus.message.InstallSnapshot;
import io.conclave.consensus.message.InstallSnapshotResponse;
import io.conclave.consensus.message.Message;
import io.conclave.consensus.message.TimeoutNow;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Edge tests of the production features (issue 4): membership changes, leadership transfer,
 * linearizable reads, snapshots. Each drives members by hand over {@link TestNet}.
 */
class RaftFeaturesTest {

  private static void settle(TestNet net) {
    for (int i = 0; i < 5; i++) {
      net.deliverAll();
      net.tickAll(1);
    }
    net.deliverAll();
  }

  private static TestNet cluster(int n, String leader) {
    TestNet net = new TestNet(n);
    net.elect(leader);
    settle(net);
    return net;
  }

  /** A learner receives the log but never votes nor counts toward commitment (dissertation §4.2.1). */
  @Test
  void learnerReplicatesButDoesNotCount() {
    TestNet net = cluster(3, "n1");
    net.join("n4"); // no bootstrap voters of its own
    RaftNode leader = net.node("n1");
    assertThat(leader.proposeConfChange(ConfChange.addLearner("n4"))).isInstanceOf(ProposeResult.Accepted.class);
    settle(net);
    assertThat(net.node("n4").configuration().learners()).containsExactly("n4");
    assertThat(net.node("n4").commitIndex()).isEqualTo(leader.commitIndex());
    // A learner never campaigns, however long it hears nothing.
    net.isolate("n4");
    net.tick("n4", 100);
    assertThat(net.node("n4").role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.node("n4").term()).isEqualTo(leader.term());
  }

  /**
   * A learner that never catches up (cut off) does not stop the group: the voters keep committing,
   * and promoting it is refused while it is unreachable, because that would leave 3 of 4 voters
   * reachable... which is still a quorum; removing a second voter then is what is refused.
   */
  @Test
  void unreachableMembersCannotBeCountedOnForAQuorum() {
    TestNet net = cluster(3, "n1");
    net.join("n4");
    RaftNode leader = net.node("n1");
    leader.proposeConfChange(ConfChange.addLearner("n4"));
    net.isolate("n4");
    settle(net);
    long before = leader.commitIndex();
    leader.propose(new byte[] {1});
    settle(net);
    assertThat(leader.commitIndex()).isGreaterThan(before); // the stuck learner does not block commits
    // Cut off n3 too, and let the leader notice (no answer within an election timeout).
    net.isolate("n3");
    for (int i = 0; i < RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS; i++) {
      net.tick("n1", 1);
      net.tick("n2", 1);
      net.deliverAll();
    }
    ProposeResult promote = leader.proposeConfChange(ConfChange.promote("n4"));
    assertThat(promote).isInstanceOfSatisfying(ProposeResult.Rejected.class,
        r -> assertThat(r.reason()).contains("2 of 4 voters reachable").contains("quorum of 3"));
    ProposeResult remove = leader.proposeConfChange(ConfChange.remove("n2"));
    assertThat(remove).isInstanceOfSatisfying(ProposeResult.Rejected.class, r -> assertThat(r.reason()).contains("1 of 2 voters reachable"));
    assertThat(leader.metrics().configurationChangesRefused).isEqualTo(2);
  }

  /** One change at a time: a second change waits until the first commits (dissertation §4.1). */
  @Test
  void secondChangeIsRefusedUntilTheFirstCommits() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    assertThat(leader.proposeConfChange(ConfChange.addLearner("n4"))).isInstanceOf(ProposeResult.Accepted.class);
    assertThat(leader.proposeConfChange(ConfChange.addLearner("n5")))
        .isInstanceOfSatisfying(ProposeResult.Rejected.class, r -> assertThat(r.reason()).contains("not committed yet"));
    assertThat(leader.proposeConfChange(ConfChange.promote("n9")).toString()).contains("Rejected");
  }

  /**
   * Removing the leader (dissertation §4.2.2): it keeps leading, without counting itself, until the
   * change commits, then steps down and hands over with TimeoutNow; the rest elect a leader at once.
   */
  @Test
  void removedLeaderStepsDownAfterCommitAndHandsOver() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    assertThat(leader.proposeConfChange(ConfChange.remove("n1"))).isInstanceOf(ProposeResult.Accepted.class);
    assertThat(leader.role()).isEqualTo(Role.LEADER); // not before the change commits
    net.flush("n1");
    List<Message> handover = new ArrayList<>();
    for (int i = 0; i < 200 && !net.queue.isEmpty(); i++) {
      net.deliver(m -> {
        if (m instanceof TimeoutNow) handover.add(m);
        return true;
      }, 1);
    }
    assertThat(leader.role()).isEqualTo(Role.FOLLOWER);
    assertThat(handover).hasSize(1);
    settle(net);
    String next = net.leader();
    assertThat(next).isIn("n2", "n3");
    assertThat(net.node(next).configuration().voters()).containsExactly("n2", "n3");
    // The removed member never campaigns again.
    net.tick("n1", 100);
    assertThat(leader.role()).isEqualTo(Role.FOLLOWER);
  }

  /** §3.10: a transfer to an up-to-date voter happens within one round trip of TimeoutNow. */
  @Test
  void transferHandsLeadershipToTheTarget() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    leader.propose(new byte[] {1});
    assertThat(leader.transferLeadership("n3")).isInstanceOf(ProposeResult.Accepted.class);
    assertThat(leader.propose(new byte[] {2})).isInstanceOf(ProposeResult.Rejected.class); // paused
    settle(net);
    assertThat(net.leader()).isEqualTo("n3");
    assertThat(net.node("n3").term()).isGreaterThan(net.node("n1").term() - 1);
    assertThat(leader.role()).isEqualTo(Role.FOLLOWER);
  }

  /** A transfer to a partitioned member gives up after an election timeout; the leader resumes. */
  @Test
  void transferToAPartitionedMemberIsAbandoned() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    net.isolate("n3");
    leader.propose(new byte[] {1});
    net.flush("n1");
    assertThat(leader.transferLeadership("n3")).isInstanceOf(ProposeResult.Accepted.class);
    assertThat(leader.propose(new byte[] {2})).isInstanceOf(ProposeResult.Rejected.class);
    for (int i = 0; i < RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS; i++) {
      net.tick("n1", 1);
      net.tick("n2", 1);
      net.deliverAll();
    }
    assertThat(leader.role()).isEqualTo(Role.LEADER);
    assertThat(leader.transferee()).isNull();
    assertThat(leader.metrics().transfersAborted).isEqualTo(1);
    assertThat(leader.propose(new byte[] {3})).isInstanceOf(ProposeResult.Accepted.class);
  }

  /**
   * ReadIndex (§6.4): the leader answers with its commit index only after a heartbeat round that a
   * majority answered; a follower's read goes through the leader and comes back to it.
   */
  @Test
  void readIndexWaitsForAQuorumRound() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    List<ReadState> got = net.reads.get("n1");
    got.clear();
    leader.read(7, false);
    net.flush("n1");
    assertThat(got).isEmpty(); // heartbeat round sent, not yet answered
    net.deliver(m -> m.to().equals("n2"), 1); // one follower has the heartbeat...
    assertThat(got).isEmpty();
    net.deliver(m -> m.to().equals("n1"), 10); // ...and its answer makes a majority with the leader
    assertThat(got).singleElement().satisfies(r -> {
      assertThat(r.requestId()).isEqualTo(7);
      assertThat(r.index()).isEqualTo(leader.commitIndex());
    });
    // Cut off from both followers, a read never confirms and fails when leadership is lost.
    got.clear();
    net.isolate("n1");
    leader.read(9, false);
    net.tick("n1", 3 * RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS);
    assertThat(leader.role()).isEqualTo(Role.FOLLOWER);
    assertThat(got).singleElement().satisfies(r -> assertThat(r.ok()).isFalse());
  }

  /** A follower asks its leader for the read index and serves locally. */
  @Test
  void followerReadGoesThroughTheLeader() {
    TestNet net = cluster(3, "n1");
    RaftNode follower = net.node("n2");
    follower.read(5, false);
    net.flush("n2");
    net.deliverAll();
    assertThat(net.reads.get("n2")).singleElement().satisfies(r -> assertThat(r.index()).isEqualTo(net.node("n1").commitIndex()));
  }

  /**
   * Lease reads are answered at once while a majority confirmed leadership recently, and fall back
   * to a ReadIndex round once the lease (election timeout minus drift) has run out.
   */
  @Test
  void leaseReadIsImmediateOnlyWhileTheLeaseHolds() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    leader.read(1, true);
    assertThat(leader.ready().reads()).singleElement().satisfies(r -> assertThat(r.ok()).isTrue());
    assertThat(leader.metrics().leaseReads).isEqualTo(1);
    // Followers stop answering: after the lease runs out a lease read must wait for a quorum.
    net.cut.add("n2>n1");
    net.cut.add("n3>n1");
    net.tick("n1", RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS - RaftConfig.DEFAULT_LEASE_DRIFT_TICKS);
    net.queue.clear();
    leader.read(2, true);
    assertThat(leader.role()).isEqualTo(Role.LEADER);
    assertThat(leader.ready().reads()).isEmpty();
    assertThat(leader.metrics().leaseReads).isEqualTo(1);
  }

  /**
   * A restarted member forgets that it heard from the leader; if it voted at once, another member
   * could be elected while the old leader still serves lease reads. It refuses votes for one election
   * timeout after a restart, so the old leader's lease stays sound.
   */
  @Test
  void restartedMemberDoesNotBreakTheLeaderLease() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    net.start("n2", net.stores.get("n2").recovered(), 222); // restart: in-memory lease state lost
    net.cut.add("n1>n3");
    net.cut.add("n3>n1");
    for (int i = 0; i < 2 * RaftConfig.DEFAULT_ELECTION_TIMEOUT_TICKS - 2 && net.node("n3").role() != Role.LEADER; i++) {
      net.tick("n3", 1);
      net.deliver(m -> !m.to().equals("n1") && !m.from().equals("n1"), 100);
    }
    assertThat(net.node("n3").role()).isNotEqualTo(Role.LEADER);
    assertThat(leader.role()).isEqualTo(Role.LEADER);
  }

  /** A snapshot delivered twice (a duplicated message) installs once and is answered as done. */
  @Test
  void snapshotArrivingTwiceInstallsOnce() {
    TestNet net = new TestNet(3, c -> c.withSnapshots(16, 0));
    net.elect("n1");
    settle(net);
    RaftNode leader = net.node("n1");
    net.isolate("n3");
    for (int i = 0; i < 20; i++) leader.propose(new byte[] {(byte) i, 1, 2, 3});
    settle(net);
    leader.compact(leader.appliedIndex(), new byte[40]);
    net.heal();
    net.tickAll(2);
    List<InstallSnapshot> chunks = new ArrayList<>();
    List<InstallSnapshotResponse> answers = new ArrayList<>();
    for (int i = 0; i < 500 && !net.queue.isEmpty(); i++) {
      net.deliver(m -> {
        if (m instanceof InstallSnapshot s) chunks.add(s);
        if (m instanceof InstallSnapshotResponse r) answers.add(r);
        return true;
      }, 1);
    }
    RaftNode n3 = net.node("n3");
    assertThat(chunks).hasSizeGreaterThanOrEqualTo(3); // 40 bytes in 16-byte chunks
    assertThat(n3.metrics().snapshotsInstalled).isEqualTo(1);
    assertThat(n3.commitIndex()).isGreaterThanOrEqualTo(leader.snapshot().index());
    // Replaying every chunk again changes nothing and is acknowledged as done.
    for (InstallSnapshot s : chunks) n3.step(s);
    assertThat(n3.metrics().snapshotsInstalled).isEqualTo(1);
    assertThat(n3.ready().messages()).allSatisfy(m -> assertThat(((InstallSnapshotResponse) m).done()).isTrue());
  }

  /** Compaction keeps the trailing entries that fit both bounds: the count and the bytes of data. */
  @Test
  void compactionKeepsNoMoreTrailingDataThanItsByteBudget() {
    TestNet net = new TestNet(3, c -> c.withSnapshots(1024, 100).withTrailingBytes(250));
    net.elect("n1");
    settle(net);
    RaftNode leader = net.node("n1");
    for (int i = 0; i < 20; i++) leader.propose(new byte[100]);
    settle(net);
    long applied = leader.appliedIndex();
    leader.compact(applied, new byte[] {1});
    // 250 bytes hold two 100-byte entries, not three; the count (100) would have kept all 20
    assertThat(leader.firstIndex()).isEqualTo(applied - 1);
    assertThat(leader.snapshot().index()).isEqualTo(applied);
    leader.propose(new byte[] {7});
    settle(net);
    assertThat(net.node("n2").commitIndex()).isEqualTo(leader.commitIndex());
  }

  /** A brand new member can start from a snapshot (restart after InstallSnapshot) and keep up. */
  @Test
  void memberStartsFromASnapshot() {
    TestNet net = cluster(3, "n1");
    RaftNode leader = net.node("n1");
    for (int i = 0; i < 10; i++) leader.propose(new byte[] {(byte) i});
    settle(net);
    leader.compact(leader.appliedIndex(), new byte[] {42});
    Snapshot s = leader.snapshot();
    RaftNode fresh = net.start("n2", new LogStore.Recovered(new HardState(leader.term(), null, s.index()), s, s.index() + 1, List.of()), 22);
    assertThat(fresh.firstIndex()).isEqualTo(s.index() + 1);
    assertThat(fresh.configuration().voters()).containsExactly("n1", "n2", "n3");
    leader.propose(new byte[] {99});
    settle(net);
    assertThat(fresh.commitIndex()).isEqualTo(leader.commitIndex());
  }

  /** Out-of-order chunks are refused and the follower names the offset it wants (resumption). */
  @Test
  void snapshotTransferResumesWhereTheFollowerIs() {
    RaftNode f = RaftNode.fresh(RaftConfig.of("b", Set.of("a", "b")), new SplittableRandom(1));
    f.ready();
    byte[] conf = Configuration.ofVoters(Set.of("a", "b")).encode();
    f.step(new InstallSnapshot("a", "b", 5, 100, 4, conf, 30, 0, new byte[10]));
    f.step(new InstallSnapshot("a", "b", 5, 100, 4, conf, 30, 20, new byte[10])); // skips 10..20
    List<Message> out = f.ready().messages();
    assertThat(out).hasSize(2);
    assertThat(((InstallSnapshotResponse) out.get(1)).nextOffset()).isEqualTo(10);
    f.step(new InstallSnapshot("a", "b", 5, 100, 4, conf, 30, 10, new byte[10]));
    f.step(new InstallSnapshot("a", "b", 5, 100, 4, conf, 30, 20, new byte[10]));
    Ready rd = f.ready();
    assertThat(rd.snapshot()).isNotNull();
    assertThat(rd.snapshot().index()).isEqualTo(100);
    assertThat(f.commitIndex()).isEqualTo(100);
    assertThat(((InstallSnapshotResponse) rd.messages().get(1)).done()).isTrue();
    // A snapshot larger than the configured maximum is refused outright.
    RaftNode small = RaftNode.fresh(new RaftConfig("b", Set.of("a", "b"), 10, 2, 1 << 20, 8, true, true, 2, 1024, 100, 0, RaftConfig.DEFAULT_TRAILING_BYTES), new SplittableRandom(2));
    small.step(new InstallSnapshot("a", "b", 5, 100, 4, conf, 1000, 0, new byte[10]));
    assertThat(small.metrics().snapshotChunksRefused).isEqualTo(1);
  }

  /** A config entry's bytes round-trip, and bad bytes are refused with a reason. */
  @Test
  void configurationCodecRejectsGarbage() {
    Configuration c = new Configuration(Set.of("a", "b"), Set.of("c"));
    assertThat(Configuration.decode(c.encode())).isEqualTo(c);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Configuration.decode(new byte[] {1, 0x7f, 0, 0, 0}))
        .isInstanceOf(IllegalArgumentException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Configuration.decode(new byte[] {9}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("format");
  }
}
