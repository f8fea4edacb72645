package io.conclave.consensus.raft;

import io.conclave.consensus.codec.Codec;
import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.message.AppendEntries;
import io.conclave.consensus.message.AppendEntriesResponse;
import io.conclave.consensus.message.Heartbeat;
import io.conclave.consensus.message.HeartbeatResponse;
import io.conclave.consensus.message.Message;
import io.conclave.consensus.message.RequestVote;
import io.conclave.consensus.message.RequestVoteResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * One member of a Raft group, as a pure state machine: no threads, sockets, files or clocks. The
 * runtime drives it with {@link #tick()}, {@link #step(Message)} and {@link #propose(byte[])}, then
 * calls {@link #ready()} to collect what to persist, send and apply (see {@link Ready} for the order
 * that keeps it safe). Calls between two {@code ready()} calls are batched: proposals made in the
 * same batch leave in the same AppendEntries.
 *
 * <p>Same state + same inputs + same random sequence = same outputs; that is what lets the
 * simulation replay a failing seed exactly.
 *
 * <p>Implements the Raft paper and Ongaro's dissertation: elections with randomized timeouts (§5.2),
 * pre-vote (§9.6), check-quorum and leader stickiness (§6.2, §9.6), log replication with batching,
 * pipelining and fast backtracking (§5.3, dissertation §10.2), commitment of current-term entries
 * only (§5.4.2) with a no-op at the start of each term.
 */
public final class RaftNode {
  private final RaftConfig config;
  private final String id;
  private final RandomGenerator random;
  private final RaftLog log;
  private final List<String> voters; // sorted: deterministic iteration
  private final int quorum;

  private Role role = Role.FOLLOWER;
  private long term;
  private String votedFor;
  private String leader;
  private HardState lastHardState;

  private int electionElapsed;
  private int heartbeatElapsed;
  private int randomizedElectionTimeout;

  // Candidate / pre-candidate: votes received in this campaign (true = granted).
  private final Map<String, Boolean> votes = new TreeMap<>();
  // Leader: one per other voter.
  private final Map<String, Progress> progress = new TreeMap<>();

  private List<Message> outbox = new ArrayList<>();

  private final RaftMetrics metrics = new RaftMetrics();

  private RaftNode(RaftConfig config, LogStore.Recovered state, RandomGenerator random) {
    this.config = config;
    this.id = config.id();
    this.random = Objects.requireNonNull(random, "random");
    this.voters = config.voters().stream().sorted().toList();
    this.quorum = voters.size() / 2 + 1;
    HardState hs = state.hardState();
    this.term = hs.term();
    this.votedFor = hs.votedFor();
    this.log = new RaftLog(state.firstIndex() - 1, 0, state.entries(), hs.commit());
    this.lastHardState = hs;
    resetElectionTimeout();
  }

  /** A member that starts from what its store recovered (empty for a brand new member). */
  public static RaftNode start(RaftConfig config, LogStore.Recovered state, RandomGenerator random) {
    return new RaftNode(config, state, random);
  }

  /** A brand new member with an empty log. */
  public static RaftNode fresh(RaftConfig config, RandomGenerator random) {
    return new RaftNode(config, LogStore.Recovered.empty(), random);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum. */
  public void tick() {
    if (role == Role.LEADER) {
      tickLeader();
    } else {
      electionElapsed++;
      if (isVoter() && electionElapsed >= randomizedElectionTimeout) {
        electionElapsed = 0;
        metrics.electionTimeouts++;
        campaign();
      }
    }
  }

  private void tickLeader() {
    heartbeatElapsed++;
    electionElapsed++;
    if (electionElapsed >= config.electionTimeoutTicks()) {
      electionElapsed = 0;
      if (config.checkQuorum() && !quorumActive()) {
        // §6.2: a leader cut off from a majority stops acting as one, so clients find the real one.
        metrics.checkQuorumStepDowns++;
        becomeFollower(term, null);
        return;
      }
    }
    if (heartbeatElapsed >= config.heartbeatTicks()) {
      heartbeatElapsed = 0;
      for (var e : progress.entrySet()) {
        Progress pr = e.getValue();
        send(new Heartbeat(id, e.getKey(), term, Math.min(pr.match, log.committed())));
      }
    }
  }

  private boolean quorumActive() {
    int active = 1; // self
    for (Progress pr : progress.values()) {
      if (pr.recentActive) active++;
      pr.recentActive = false;
    }
    return active >= quorum;
  }

  /** Proposes an opaque command. Only the leader accepts; see {@link ProposeResult}. */
  public ProposeResult propose(byte[] command) {
    Objects.requireNonNull(command, "command");
    if (role != Role.LEADER) {
      metrics.proposalsRejected++;
      return new ProposeResult.NotLeader(leader);
    }
    Entry e = Entry.command(log.lastIndex() + 1, term, command);
    log.append(e);
    metrics.proposalsAccepted++;
    if (progress.isEmpty()) maybeCommit(); // a group of one commits at once
    return new ProposeResult.Accepted(e.index(), e.term());
  }

  /** Proposes an application value through its codec. */
  public <T> ProposeResult propose(T value, Codec<T> codec) {
    return propose(codec.encode(value));
  }

  /**
   * Feeds one message from the network. Messages for another member, from a stale term, or that
   * make no sense in the current role are dropped and counted; none is ever an error.
   */
  public void step(Message m) {
    Objects.requireNonNull(m, "message");
    if (!id.equals(m.to())) {
      metrics.dropped++;
      return;
    }
    if (m.term() > term) {
      if (m instanceof RequestVote rv) {
        if (!rv.transfer() && inLease()) {
          // Leader stickiness (§9.6 with check-quorum): we heard from a leader within the minimum
          // election timeout, so this candidate cannot be needed; ignore it without raising our term.
          metrics.votesIgnoredInLease++;
          return;
        }
        if (!rv.preVote()) becomeFollower(m.term(), null);
      } else if (m instanceof RequestVoteResponse r && r.preVote() && r.granted()) {
        // A granted pre-vote carries the term we would campaign in: not a reason to change term.
      } else if (m instanceof AppendEntries || m instanceof Heartbeat) {
        becomeFollower(m.term(), m.from());
      } else {
        becomeFollower(m.term(), null);
      }
    } else if (m.term() < term) {
      stepStale(m);
      return;
    }

    // Java 17: no pattern switch yet; the sealed interface keeps this list complete.
    if (m instanceof RequestVote rv) handleVoteRequest(rv);
    else if (m instanceof RequestVoteResponse r) handleVoteResponse(r);
    else if (m instanceof AppendEntries ae) handleAppend(ae);
    else if (m instanceof AppendEntriesResponse r) handleAppendResponse(r);
    else if (m instanceof Heartbeat hb) handleHeartbeat(hb);
    else if (m instanceof HeartbeatResponse r) handleHeartbeatResponse(r);
  }

  private void stepStale(Message m) {
    metrics.staleTermMessages++;
    if (m instanceof AppendEntries || m instanceof Heartbeat) {
      // A deposed leader that was partitioned away keeps its term until it hears a higher one. With
      // pre-vote and check-quorum our term may never reach it through a vote, so tell it here.
      send(new AppendEntriesResponse(id, m.from(), term, false, 0, 0, 0));
    } else if (m instanceof RequestVote rv && rv.preVote()) {
      send(new RequestVoteResponse(id, m.from(), term, false, true));
    }
  }

  /** A leader was heard from (or, as leader, a quorum was) within the minimum election timeout. */
  private boolean inLease() {
    return config.checkQuorum() && leader != null && electionElapsed < config.electionTimeoutTicks();
  }

  // ---------------------------------------------------------------------------------------------
  // Elections (§5.2, §9.6)

  private void campaign() {
    if (config.preVote()) {
      becomePreCandidate();
    } else {
      becomeCandidate();
    }
  }

  private void becomePreCandidate() {
    role = Role.PRE_CANDIDATE;
    leader = null;
    votes.clear();
    resetElectionTimeout();
    metrics.preVotesStarted++;
    // Our term does not change: nobody is disturbed unless we could really win.
    requestVotes(term + 1, true);
  }

  private void becomeCandidate() {
    role = Role.CANDIDATE;
    term++;
    votedFor = id;
    leader = null;
    votes.clear();
    resetElectionTimeout();
    metrics.electionsStarted++;
    requestVotes(term, false);
  }

  private void requestVotes(long campaignTerm, boolean pre) {
    votes.put(id, true);
    if (tallyWon()) {
      if (pre) becomeCandidate();
      else becomeLeader();
      return;
    }
    for (String v : voters) {
      if (v.equals(id)) continue;
      send(new RequestVote(id, v, campaignTerm, log.lastIndex(), log.lastTerm(), pre, false));
    }
  }

  private void handleVoteRequest(RequestVote rv) {
    // For a real vote m.term == term here; for a pre-vote m.term may be term + 1.
    boolean canVote =
        rv.from().equals(votedFor)
            || (votedFor == null && leader == null)
            || (rv.preVote() && rv.term() > term);
    boolean upToDate = log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm());
    if (canVote && upToDate) {
      send(new RequestVoteResponse(id, rv.from(), rv.term(), true, rv.preVote()));
      if (!rv.preVote()) {
        votedFor = rv.from();
        electionElapsed = 0;
      }
    } else {
      send(new RequestVoteResponse(id, rv.from(), term, false, rv.preVote()));
    }
  }

  private void handleVoteResponse(RequestVoteResponse r) {
    boolean expected =
        (role == Role.PRE_CANDIDATE && r.preVote()) || (role == Role.CANDIDATE && !r.preVote());
    if (!expected || !voters.contains(r.from())) {
      metrics.dropped++;
      return;
    }
    votes.putIfAbsent(r.from(), r.granted());
    if (tallyWon()) {
      if (role == Role.PRE_CANDIDATE) becomeCandidate();
      else becomeLeader();
    } else if (tallyLost()) {
      becomeFollower(term, null);
    }
  }

  private boolean tallyWon() {
    return votes.values().stream().filter(g -> g).count() >= quorum;
  }

  private boolean tallyLost() {
    return votes.values().stream().filter(g -> !g).count() >= quorum;
  }

  private void becomeFollower(long newTerm, String newLeader) {
    if (newTerm > term) {
      term = newTerm;
      votedFor = null;
    }
    if (role == Role.LEADER) metrics.leaderStepDowns++;
    role = Role.FOLLOWER;
    leader = newLeader;
    progress.clear();
    votes.clear();
    electionElapsed = 0;
    resetElectionTimeout();
  }

  private void becomeLeader() {
    role = Role.LEADER;
    leader = id;
    electionElapsed = 0;
    heartbeatElapsed = 0;
    votes.clear();
    progress.clear();
    for (String v : voters) {
      if (v.equals(id)) continue;
      Progress pr = new Progress(log.lastIndex() + 1, config.maxInflightMsgs());
      pr.recentActive = true; // they just voted for us
      progress.put(v, pr);
    }
    metrics.leaderships++;
    // §5.4.2 / §8: a leader commits entries of earlier terms only by committing one of its own.
    log.append(Entry.noop(log.lastIndex() + 1, term));
    if (progress.isEmpty()) maybeCommit();
  }

  private void resetElectionTimeout() {
    int base = config.electionTimeoutTicks();
    randomizedElectionTimeout = base + random.nextInt(base);
  }

  // ---------------------------------------------------------------------------------------------
  // Replication: follower side (§5.3)

  private void handleAppend(AppendEntries ae) {
    if (role != Role.FOLLOWER) becomeFollower(term, ae.from());
    leader = ae.from();
    electionElapsed = 0;
    long prev = ae.prevLogIndex();
    long prevTerm = ae.prevLogTerm();
    List<Entry> entries = ae.entries();
    long committed = log.committed();
    if (prev < committed) {
      // Our log matches every leader's up to our commit index (leader completeness, §5.4): keep only
      // what lies above it (a late or duplicated message).
      if (ae.lastIndex() <= committed) {
        send(new AppendEntriesResponse(id, ae.from(), term, true, committed, 0, 0));
        return;
      }
      entries = entries.subList((int) (committed - prev), entries.size());
      prev = committed;
      prevTerm = log.term(committed);
    }
    if (log.matchTerm(prev, prevTerm)) {
      long lastNew = log.appendFollowing(prev, entries);
      log.commitTo(Math.min(ae.leaderCommit(), lastNew));
      send(new AppendEntriesResponse(id, ae.from(), term, true, lastNew, 0, 0));
      return;
    }
    metrics.appendsRejected++;
    long conflictIndex;
    long conflictTerm;
    if (prev > log.lastIndex()) {
      conflictIndex = log.lastIndex() + 1;
      conflictTerm = 0;
    } else {
      conflictTerm = log.term(prev);
      conflictIndex = Math.max(log.firstIndexOfTermAt(prev), log.committed() + 1);
    }
    send(new AppendEntriesResponse(id, ae.from(), term, false, prev, conflictIndex, conflictTerm));
  }

  private void handleHeartbeat(Heartbeat hb) {
    if (role != Role.FOLLOWER) becomeFollower(term, hb.from());
    leader = hb.from();
    electionElapsed = 0;
    log.commitTo(Math.min(hb.commit(), log.lastIndex()));
    send(new HeartbeatResponse(id, hb.from(), term));
  }

  // ---------------------------------------------------------------------------------------------
  // Replication: leader side

  private void handleAppendResponse(AppendEntriesResponse r) {
    Progress pr = leaderProgress(r.from());
    if (pr == null) return;
    pr.recentActive = true;
    if (r.success()) {
      if (pr.acked(r.index())) maybeCommit();
      return;
    }
    // A rejection is stale if it answers a message sent before we already learned better.
    if (r.index() <= pr.match) {
      metrics.dropped++;
      return;
    }
    if (pr.state == Progress.State.PROBE && r.index() != pr.next - 1) {
      metrics.dropped++;
      return;
    }
    long next;
    if (r.conflictTerm() > 0) {
      long idx = log.lastIndexOfTerm(r.conflictTerm(), r.index());
      next = idx > 0 ? idx + 1 : r.conflictIndex();
    } else {
      next = r.conflictIndex();
    }
    next = Math.max(1, Math.min(next, r.index())); // must move back: prev=index did not match
    pr.becomeProbe(next);
    metrics.backtracks++;
  }

  private void handleHeartbeatResponse(HeartbeatResponse r) {
    Progress pr = leaderProgress(r.from());
    if (pr == null) return;
    pr.recentActive = true;
    if (pr.state == Progress.State.PROBE) {
      // A lost probe would stall the follower forever: a heartbeat answer lets us probe again.
      pr.probeSent = false;
    } else if (pr.match < log.lastIndex() && pr.match == pr.matchAtLastHeartbeat) {
      // No acknowledgement for a whole heartbeat interval while entries are outstanding: assume an
      // AppendEntries was lost and resend from the last known match.
      pr.becomeProbe(pr.match + 1);
      metrics.resends++;
    }
    pr.matchAtLastHeartbeat = pr.match;
  }

  private Progress leaderProgress(String from) {
    if (role != Role.LEADER) {
      metrics.dropped++;
      return null;
    }
    Progress pr = progress.get(from);
    if (pr == null) metrics.dropped++;
    return pr;
  }

  /** §5.3, §5.4.2: commit the highest index stored on a majority, if it is of the current term. */
  private void maybeCommit() {
    long[] matches = new long[progress.size() + 1];
    int i = 0;
    matches[i++] = log.lastIndex(); // our own log (persisted before any message counting it leaves)
    for (Progress pr : progress.values()) matches[i++] = pr.match;
    Arrays.sort(matches);
    long majorityMatch = matches[matches.length - quorum];
    if (majorityMatch > log.committed() && log.term(majorityMatch) == term) {
      log.commitTo(majorityMatch);
    }
  }

  private void sendAppends() {
    for (var e : progress.entrySet()) {
      String to = e.getKey();
      Progress pr = e.getValue();
      if (pr.state == Progress.State.PROBE) {
        if (pr.canSend()) sendAppend(to, pr);
        continue;
      }
      while (pr.canSend() && pr.next <= log.lastIndex()) sendAppend(to, pr);
    }
  }

  private void sendAppend(String to, Progress pr) {
    long prev = pr.next - 1;
    List<Entry> batch = log.slice(pr.next, config.maxMsgBytes());
    long commit = log.committed();
    send(new AppendEntries(id, to, term, prev, log.term(prev), batch, commit));
    pr.sent(prev + batch.size());
    metrics.appendsSent++;
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  private void send(Message m) {
    outbox.add(m);
  }

  /**
   * Collects everything the calls since the last {@code ready()} produced. The caller must carry it
   * out as {@link Ready} describes before acting on a later one.
   */
  public Ready ready() {
    if (role == Role.LEADER) sendAppends();
    HardState hs = new HardState(term, votedFor, log.committed());
    HardState changed = hs.equals(lastHardState) ? null : hs;
    lastHardState = hs;
    List<Entry> entries = log.drainUnstable();
    List<Entry> committed = log.drainCommitted();
    if (changed == null && entries.isEmpty() && outbox.isEmpty() && committed.isEmpty()) {
      return Ready.EMPTY;
    }
    List<Message> msgs = outbox;
    outbox = new ArrayList<>();
    return new Ready(changed, entries, msgs, committed);
  }

  // ---------------------------------------------------------------------------------------------
  // Views

  public String id() {
    return id;
  }

  public Role role() {
    return role;
  }

  public long term() {
    return term;
  }

  /** The leader this member currently follows (itself when leader), or null when none is known. */
  public String leader() {
    return leader;
  }

  public long commitIndex() {
    return log.committed();
  }

  public long appliedIndex() {
    return log.applied();
  }

  public long lastIndex() {
    return log.lastIndex();
  }

  public long lastTerm() {
    return log.lastTerm();
  }

  public List<String> voters() {
    return voters;
  }

  public boolean isVoter() {
    return voters.contains(id);
  }

  /** Ticks since this member last heard from its leader (or, as leader, since its last quorum check). */
  public int ticksSinceLeaderContact() {
    return electionElapsed;
  }

  /** Match index of each follower, as the leader sees it; empty unless leader. */
  public Map<String, Long> followerMatch() {
    Map<String, Long> out = new TreeMap<>();
    progress.forEach((k, v) -> out.put(k, v.match));
    return out;
  }

  public RaftMetrics metrics() {
    return metrics;
  }

  /** Entry at {@code index} from the in-memory log, for tests and diagnostics. */
  public Entry entryAt(long index) {
    return log.entry(index);
  }

  @Override
  public String toString() {
    return "RaftNode{" + id + " " + role + " term=" + term + " last=" + log.lastIndex()
        + " commit=" + log.committed() + " leader=" + leader + "}";
  }
}
