package io.conclave.consensus.raft;

import io.conclave.consensus.codec.Codec;
import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import io.conclave.consensus.log.HardState;
import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.message.AppendEntries;
import io.conclave.consensus.message.AppendEntriesResponse;
import io.conclave.consensus.message.Heartbeat;
import io.conclave.consensus.message.HeartbeatResponse;
import io.conclave.consensus.message.InstallSnapshot;
import io.conclave.consensus.message.InstallSnapshotResponse;
import io.conclave.consensus.message.Message;
import io.conclave.consensus.message.ReadIndexRequest;
import io.conclave.consensus.message.ReadIndexResponse;
import io.conclave.consensus.message.RequestVote;
import io.conclave.consensus.message.RequestVoteResponse;
import io.conclave.consensus.message.TimeoutNow;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * One member of a Raft group, as a pure state machine: no threads, sockets, files or clocks. The
 * runtime drives it with {@link #tick()}, {@link #step(Message)}, {@link #propose(byte[])} and the
 * other requests below, then calls {@link #ready()} to collect what to persist, send and apply (see
 * {@link Ready} for the order that keeps it safe), and reports each sync with {@link #persisted} and
 * {@link #persistedHardState}. Calls between two {@code ready()} calls are batched: proposals made in
 * one batch leave in one AppendEntries, reads in one batch share one heartbeat round.
 *
 * <p>The leader's writes are pipelined (dissertation §10.2.1): its AppendEntries leave before its own
 * fsync, and it counts its own log towards a commit only up to what the runtime reported forced, so
 * a committed entry is on a majority's disks whichever of them acknowledged first.
 *
 * <p>Same state + same inputs + same random sequence = same outputs; that is what lets the
 * simulation replay a failing seed exactly.
 *
 * <p>Implements the Raft paper and Ongaro's dissertation: elections with randomized timeouts (§5.2),
 * pre-vote (§9.6), check-quorum and leader stickiness (§6.2, §9.6), log replication with batching,
 * pipelining and fast backtracking (§5.3, dissertation §10.2), commitment of current-term entries
 * only (§5.4.2) with a no-op at the start of each term, single-server membership changes with learners
 * (dissertation §4), leadership transfer (§3.10), ReadIndex and lease reads (§6.4), and snapshots
 * with chunked InstallSnapshot (§5).
 */
public final class RaftNode {
  private final RaftConfig config;
  private final String id;
  private final RandomGenerator random;
  private final RaftLog log;

  // The configuration in force: the latest one in the log, committed or not (dissertation §4.1).
  private Configuration conf;
  private long confIndex;
  // The configuration before any CONFIG entry of the log (from the snapshot or the bootstrap voters).
  private Configuration baseConf;

  private Role role = Role.FOLLOWER;
  private long term;
  private String votedFor;
  private String leader;
  private HardState lastHardState;
  // The term and vote the runtime reported forced (persistedHardState): messages that rely on the
  // current ones may leave before a sync only when these equal them.
  private long durableTerm;
  private String durableVote;

  private int electionElapsed;
  private int heartbeatElapsed;
  private int randomizedElectionTimeout;
  // A restarted member may have acknowledged a leader it no longer remembers: it refuses votes for
  // one election timeout, which keeps the leases that counted on it sound. A brand new member (no
  // durable term) never acknowledged anyone.
  private boolean startupLease;

  // Candidate / pre-candidate: votes received in this campaign (true = granted).
  private final Map<String, Boolean> votes = new TreeMap<>();
  // Leader: one per other member, voters and learners.
  private final Map<String, Progress> progress = new TreeMap<>();
  private long leaderTicks;
  // Leadership transfer in progress (leader only).
  private String transferee;
  private int transferElapsed;
  private boolean timeoutNowSent;
  // Reads (leader): heartbeat rounds, their send ticks, and reads waiting for a round to be confirmed.
  private long round;
  private boolean roundRequested;
  private final ArrayDeque<long[]> roundSentAt = new ArrayDeque<>(); // {round, leaderTick}
  private long leaseStartTick = Long.MIN_VALUE / 2;
  private final ArrayDeque<PendingRead> pendingReads = new ArrayDeque<>();
  private final List<PendingRead> readsAwaitingTermCommit = new ArrayList<>();
  private List<ReadState> readStates = new ArrayList<>();

  // Snapshots: the latest one (to send to followers behind the log), and one arriving in chunks.
  private Snapshot snapshot;
  private Incoming incoming;
  private Snapshot snapshotToSave;

  private List<Message> outbox = new ArrayList<>();
  private final RaftMetrics metrics = new RaftMetrics();

  private RaftNode(RaftConfig config, LogStore.Recovered state, RandomGenerator random) {
    this.config = config;
    this.id = config.id();
    this.random = Objects.requireNonNull(random, "random");
    HardState hs = state.hardState();
    this.startupLease = hs.term() > 0;
    this.term = hs.term();
    this.votedFor = hs.votedFor();
    this.snapshot = state.snapshot();
    long offset = snapshot != null ? snapshot.index() : 0;
    long offsetTerm = snapshot != null ? snapshot.term() : 0;
    List<Entry> entries = state.entries();
    int skip = 0;
    while (skip < entries.size() && entries.get(skip).index() <= offset) skip++;
    entries = entries.subList(skip, entries.size());
    if (!entries.isEmpty() && entries.get(0).index() != offset + 1) {
      throw new IllegalStateException("recovered log starts at " + entries.get(0).index() + " but the snapshot ends at " + offset);
    }
    // A stored commit may be lower than what was committed (and applied) before a crash, since the
    // commit index is saved without a sync of its own: the state machine is rebuilt from the snapshot
    // and the log, and the leader tells us the rest.
    this.log = new RaftLog(offset, offsetTerm, entries, Math.max(hs.commit(), offset));
    this.durableTerm = hs.term();
    this.durableVote = hs.votedFor();
    this.baseConf = snapshot != null ? snapshot.configuration() : Configuration.ofVoters(config.voters());
    if (log.lastIndex() == 0 && snapshot == null && term == 0 && !config.voters().isEmpty()) {
      // A brand new group: every bootstrapping voter writes the same first entry, so it is the same
      // committed entry 1 everywhere, and members added later learn the first configuration from it.
      term = 1;
      log.append(new Entry(1, 1, EntryType.CONFIG, baseConf.encode()));
      log.commitTo(1);
    }
    recomputeConf();
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
  // Time

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum, transfers. */
  public void tick() {
    if (role == Role.LEADER) {
      tickLeader();
      return;
    }
    electionElapsed++;
    if (electionElapsed >= config.electionTimeoutTicks()) startupLease = false;
    if (electionElapsed >= randomizedElectionTimeout && promotable()) {
      electionElapsed = 0;
      metrics.electionTimeouts++;
      campaign(false);
    }
  }

  /**
   * May this member start an election? A voter of the latest configuration may; so may a member that
   * an uncommitted configuration removed (dissertation §4.2.2): it may still be needed to commit that
   * change, and without it the group can deadlock. It does not count its own vote then.
   */
  private boolean promotable() {
    if (conf.isVoter(id)) return true;
    return confIndex > log.committed() && confAt(confIndex - 1).isVoter(id);
  }

  private void tickLeader() {
    leaderTicks++;
    heartbeatElapsed++;
    electionElapsed++;
    if (transferee != null && ++transferElapsed >= config.electionTimeoutTicks()) {
      // §3.10: the target did not take over within an election timeout; resume normal operation.
      metrics.transfersAborted++;
      transferee = null;
    }
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
      roundRequested = true;
    }
  }

  private boolean quorumActive() {
    int active = conf.isVoter(id) ? 1 : 0;
    for (var e : progress.entrySet()) {
      if (e.getValue().recentActive && conf.isVoter(e.getKey())) active++;
      e.getValue().recentActive = false;
    }
    return active >= conf.quorum();
  }

  // ---------------------------------------------------------------------------------------------
  // Client requests

  /** Proposes an opaque command. Only the leader accepts; see {@link ProposeResult}. */
  public ProposeResult propose(byte[] command) {
    Objects.requireNonNull(command, "command");
    ProposeResult refused = refuseProposal();
    if (refused != null) return refused;
    Entry e = Entry.command(log.lastIndex() + 1, term, command);
    appendAsLeader(e);
    metrics.proposalsAccepted++;
    return new ProposeResult.Accepted(e.index(), e.term());
  }

  /** Proposes an application value through its codec. */
  public <T> ProposeResult propose(T value, Codec<T> codec) {
    return propose(codec.encode(value));
  }

  private ProposeResult refuseProposal() {
    if (role != Role.LEADER) {
      metrics.proposalsRejected++;
      return new ProposeResult.NotLeader(leader);
    }
    if (transferee != null) {
      metrics.proposalsRejected++;
      return new ProposeResult.Rejected("leadership transfer to " + transferee + " in progress");
    }
    return null;
  }

  /**
   * Proposes one membership change (dissertation §4.1). It takes effect on each member as soon as it
   * is appended. Refused, with the reason, when another change is not yet committed, when this
   * leader has not yet committed an entry of its own term (§4.1's fix for changes across leaders),
   * when the change is not a valid step, or when it would leave fewer reachable voters than a quorum.
   */
  public ProposeResult proposeConfChange(ConfChange change) {
    ProposeResult refused = refuseProposal();
    if (refused == null) refused = refuseConfChange(change);
    if (refused != null) {
      if (refused instanceof ProposeResult.Rejected) metrics.configurationChangesRefused++;
      return refused;
    }
    Configuration next = conf.apply(change);
    Entry e = new Entry(log.lastIndex() + 1, term, EntryType.CONFIG, next.encode());
    appendAsLeader(e);
    metrics.configurationChanges++;
    return new ProposeResult.Accepted(e.index(), e.term());
  }

  private ProposeResult refuseConfChange(ConfChange change) {
    if (confIndex > log.committed()) {
      return new ProposeResult.Rejected("the configuration change at index " + confIndex + " is not committed yet");
    }
    if (!committedInTerm()) {
      return new ProposeResult.Rejected("this leader has not committed an entry of its term yet; retry shortly");
    }
    Configuration next;
    try {
      next = conf.apply(change);
    } catch (IllegalArgumentException e) {
      return new ProposeResult.Rejected(e.getMessage());
    }
    int reachable = 0;
    for (String v : next.voters()) if (reachable(v)) reachable++;
    if (reachable < next.quorum()) {
      return new ProposeResult.Rejected(String.format(
          "%s would leave %d of %d voters reachable, below the quorum of %d", change, reachable, next.voters().size(), next.quorum()));
    }
    return null;
  }

  private boolean reachable(String member) {
    if (member.equals(id)) return true;
    Progress pr = progress.get(member);
    return pr != null && leaderTicks - pr.lastHeardTick < config.electionTimeoutTicks();
  }

  /**
   * Hands leadership to {@code target}, or to the most up-to-date voter when null (§3.10): proposals
   * are refused meanwhile, the target is brought up to date and told to campaign at once. Gives up
   * after an election timeout. Answers Accepted(index the target must reach, term) when started.
   */
  public ProposeResult transferLeadership(String target) {
    if (role != Role.LEADER) return new ProposeResult.NotLeader(leader);
    if (target == null) target = mostUpToDateVoter();
    if (target == null) return new ProposeResult.Rejected("no other voter to transfer leadership to");
    if (target.equals(id)) return new ProposeResult.Rejected(id + " is already the leader");
    if (!conf.isVoter(target)) return new ProposeResult.Rejected(target + " is not a voter");
    if (transferee != null) return new ProposeResult.Rejected("leadership transfer to " + transferee + " in progress");
    transferee = target;
    transferElapsed = 0;
    timeoutNowSent = false;
    metrics.transfersStarted++;
    maybeSendTimeoutNow();
    return new ProposeResult.Accepted(log.lastIndex(), term);
  }

  private String mostUpToDateVoter() {
    String best = null;
    long bestMatch = -1;
    for (var e : progress.entrySet()) {
      if (conf.isVoter(e.getKey()) && e.getValue().match > bestMatch) {
        best = e.getKey();
        bestMatch = e.getValue().match;
      }
    }
    return best;
  }

  private void maybeSendTimeoutNow() {
    if (transferee == null || timeoutNowSent) return;
    Progress pr = progress.get(transferee);
    if (pr != null && pr.match == log.lastIndex()) {
      send(new TimeoutNow(id, transferee, term));
      timeoutNowSent = true;
    }
  }

  /**
   * Requests a linearizable read (dissertation §6.4). The answer comes back in a later {@link Ready}
   * as a {@link ReadState}: serve the read once the local state machine has applied its index.
   *
   * @param lease when true, the leader answers at once while its lease holds (a majority confirmed
   *     its leadership less than {@code electionTimeout - leaseDrift} ticks ago); this trusts bounded
   *     clock drift, and the runtime must stop lease reads after its process stalled (a paused
   *     leader's ticks stop while followers' run on). When false, or without a valid lease, the leader
   *     confirms with a heartbeat round.
   *     A follower forwards the request to its leader.
   */
  public void read(long requestId, boolean lease) {
    if (role == Role.LEADER) {
      readAsLeader(new PendingRead(requestId, null, -1, -1), lease);
    } else if (leader != null) {
      send(new ReadIndexRequest(id, leader, term, requestId));
    } else {
      metrics.readsFailed++;
      readStates.add(new ReadState(requestId, -1));
    }
  }

  private void readAsLeader(PendingRead r, boolean lease) {
    if (!committedInTerm()) {
      // The commit index is only known to be current once an entry of this term commits (§6.4).
      readsAwaitingTermCommit.add(r);
      return;
    }
    if (lease && leaseValid()) {
      metrics.leaseReads++;
      answerRead(r, log.committed());
      return;
    }
    if (conf.voters().size() == 1 && conf.isVoter(id)) {
      answerRead(r, log.committed());
      return;
    }
    pendingReads.addLast(new PendingRead(r.requestId, r.requester, log.committed(), round + 1));
    roundRequested = true;
  }

  private boolean leaseValid() {
    return role == Role.LEADER
        && config.checkQuorum()
        && transferee == null
        && committedInTerm()
        && leaderTicks - leaseStartTick < config.electionTimeoutTicks() - config.leaseDriftTicks() - 1;
  }

  private void answerRead(PendingRead r, long index) {
    if (r.requester == null) readStates.add(new ReadState(r.requestId, index));
    else send(new ReadIndexResponse(id, r.requester, term, r.requestId, index));
  }

  private boolean committedInTerm() {
    return log.term(log.committed()) == term;
  }

  /**
   * The application took a snapshot of its state at {@code index} (≤ applied) and has stored it: the
   * log is compacted behind it, keeping up to {@code trailingEntries} entries and {@code trailingBytes}
   * of their data for followers a little behind.
   */
  public void compact(long index, byte[] data) {
    RaftLog.check(index <= log.applied(), "snapshot at %d beyond applied %d", index, log.applied());
    if (snapshot != null && index <= snapshot.index()) return;
    snapshot = new Snapshot(index, log.term(index), confAt(index), data);
    metrics.snapshotsTaken++;
    long newStart = Math.max(log.snapshotIndex(), index - config.trailingEntries());
    long kept = 0;
    for (long i = index; i > newStart; i--) {
      kept += log.entry(i).data().length;
      if (kept > config.trailingBytes()) {
        newStart = i; // entry i would pass the byte budget: it goes, with everything before it
        break;
      }
    }
    baseConf = confAt(newStart); // CONFIG entries up to newStart leave the log
    log.compactTo(newStart);
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

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
      } else if (m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot) {
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
    else if (m instanceof TimeoutNow t) handleTimeoutNow(t);
    else if (m instanceof ReadIndexRequest r) handleReadIndexRequest(r);
    else if (m instanceof ReadIndexResponse r) handleReadIndexResponse(r);
    else if (m instanceof InstallSnapshot s) handleInstallSnapshot(s);
    else if (m instanceof InstallSnapshotResponse r) handleInstallSnapshotResponse(r);
  }

  private void stepStale(Message m) {
    metrics.staleTermMessages++;
    if (m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot) {
      // A deposed leader that was partitioned away keeps its term until it hears a higher one. With
      // pre-vote and check-quorum our term may never reach it through a vote, so tell it here.
      send(new AppendEntriesResponse(id, m.from(), term, false, 0, 0, 0));
    } else if (m instanceof RequestVote rv && rv.preVote()) {
      send(new RequestVoteResponse(id, m.from(), term, false, true));
    }
  }

  /** A leader was heard from (or, as leader, a quorum was) within the minimum election timeout. */
  private boolean inLease() {
    return config.checkQuorum()
        && (leader != null || startupLease)
        && electionElapsed < config.electionTimeoutTicks();
  }

  // ---------------------------------------------------------------------------------------------
  // Elections (§5.2, §9.6)

  private void campaign(boolean transfer) {
    if (config.preVote() && !transfer) {
      becomePreCandidate();
    } else {
      becomeCandidate(transfer);
    }
  }

  private void becomePreCandidate() {
    failPendingReads();
    role = Role.PRE_CANDIDATE;
    leader = null;
    votes.clear();
    resetElectionTimeout();
    metrics.preVotesStarted++;
    // Our term does not change: nobody is disturbed unless we could really win.
    requestVotes(term + 1, true, false);
  }

  private void becomeCandidate(boolean transfer) {
    failPendingReads();
    role = Role.CANDIDATE;
    term++;
    votedFor = id;
    leader = null;
    startupLease = false;
    votes.clear();
    resetElectionTimeout();
    metrics.electionsStarted++;
    requestVotes(term, false, transfer);
  }

  private void requestVotes(long campaignTerm, boolean pre, boolean transfer) {
    votes.put(id, true); // counted only when we are a voter (tallyWon filters)
    if (tallyWon()) {
      if (pre) becomeCandidate(false);
      else becomeLeader();
      return;
    }
    for (String v : conf.voters()) {
      if (v.equals(id)) continue;
      send(new RequestVote(id, v, campaignTerm, log.lastIndex(), log.lastTerm(), pre, transfer));
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
    if (!expected || !conf.isVoter(r.from())) {
      metrics.dropped++;
      return;
    }
    votes.putIfAbsent(r.from(), r.granted());
    if (tallyWon()) {
      if (role == Role.PRE_CANDIDATE) becomeCandidate(false);
      else becomeLeader();
    } else if (tallyLost()) {
      becomeFollower(term, null);
    }
  }

  private boolean tallyWon() {
    long granted = votes.entrySet().stream().filter(e -> e.getValue() && conf.isVoter(e.getKey())).count();
    return granted >= conf.quorum();
  }

  private boolean tallyLost() {
    long refused = votes.entrySet().stream().filter(e -> !e.getValue() && conf.isVoter(e.getKey())).count();
    return refused >= conf.quorum();
  }

  private void handleTimeoutNow(TimeoutNow t) {
    if (!isVoter()) {
      metrics.dropped++;
      return;
    }
    // §3.10: the leader chose us; campaign at once, telling voters to ignore their leases.
    campaign(true);
  }

  private void becomeFollower(long newTerm, String newLeader) {
    if (newTerm > term) {
      term = newTerm;
      votedFor = null;
    }
    if (role == Role.LEADER) metrics.leaderStepDowns++;
    failPendingReads();
    role = Role.FOLLOWER;
    leader = newLeader;
    progress.clear();
    votes.clear();
    transferee = null;
    electionElapsed = 0;
    resetElectionTimeout();
  }

  private void becomeLeader() {
    role = Role.LEADER;
    leader = id;
    startupLease = false;
    electionElapsed = 0;
    heartbeatElapsed = 0;
    transferee = null;
    leaseStartTick = Long.MIN_VALUE / 2;
    roundSentAt.clear();
    progress.clear();
    for (String member : conf.members()) {
      if (member.equals(id)) continue;
      Progress pr = newProgress();
      if (Boolean.TRUE.equals(votes.get(member))) {
        pr.recentActive = true; // it just voted for us
        pr.lastHeardTick = leaderTicks;
      }
      progress.put(member, pr);
    }
    votes.clear();
    metrics.leaderships++;
    // §5.4.2 / §8: a leader commits entries of earlier terms only by committing one of its own.
    appendAsLeader(Entry.noop(log.lastIndex() + 1, term));
  }

  private Progress newProgress() {
    Progress pr = new Progress(log.lastIndex() + 1, config.maxInflightMsgs());
    pr.lastHeardTick = leaderTicks - config.electionTimeoutTicks();
    return pr;
  }

  private void resetElectionTimeout() {
    int base = config.electionTimeoutTicks();
    randomizedElectionTimeout = base + random.nextInt(base);
  }

  // ---------------------------------------------------------------------------------------------
  // Configuration

  private void appendAsLeader(Entry e) {
    log.append(e);
    if (e.type() == EntryType.CONFIG) {
      conf = Configuration.decode(e.data());
      confIndex = e.index();
      syncProgressWithConf();
    }
    maybeCommit(); // a group of one commits at once
  }

  /** Leader: one Progress per other member of the configuration in force. */
  private void syncProgressWithConf() {
    progress.keySet().removeIf(m -> !conf.contains(m));
    for (String m : conf.members()) {
      if (!m.equals(id) && !progress.containsKey(m)) progress.put(m, newProgress());
    }
  }

  /** The configuration in force: the last CONFIG entry of the log, else the base configuration. */
  private void recomputeConf() {
    for (long i = log.lastIndex(); i > log.snapshotIndex(); i--) {
      Entry e = log.entry(i);
      if (e.type() == EntryType.CONFIG) {
        conf = Configuration.decode(e.data());
        confIndex = i;
        return;
      }
    }
    conf = baseConf;
    confIndex = log.snapshotIndex();
  }

  private Configuration confAt(long index) {
    for (long i = Math.min(index, log.lastIndex()); i > log.snapshotIndex(); i--) {
      Entry e = log.entry(i);
      if (e.type() == EntryType.CONFIG) return Configuration.decode(e.data());
    }
    return baseConf;
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
      if (log.takeTruncated() || containsConfig(entries)) recomputeConf();
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

  private static boolean containsConfig(List<Entry> entries) {
    for (Entry e : entries) if (e.type() == EntryType.CONFIG) return true;
    return false;
  }

  private void handleHeartbeat(Heartbeat hb) {
    if (role != Role.FOLLOWER) becomeFollower(term, hb.from());
    leader = hb.from();
    electionElapsed = 0;
    log.commitTo(Math.min(hb.commit(), log.lastIndex()));
    send(new HeartbeatResponse(id, hb.from(), term, hb.round()));
  }

  private void handleInstallSnapshot(InstallSnapshot m) {
    if (role != Role.FOLLOWER) becomeFollower(term, m.from());
    leader = m.from();
    electionElapsed = 0;
    if (m.index() <= log.committed()) {
      // We already hold everything up to it.
      incoming = null;
      send(new InstallSnapshotResponse(id, m.from(), term, m.index(), m.totalBytes(), true));
      return;
    }
    if (m.totalBytes() > config.maxSnapshotBytes() || m.totalBytes() < 0 || m.offset() < 0) {
      metrics.snapshotChunksRefused++;
      return;
    }
    if (incoming == null || incoming.index != m.index() || incoming.term != m.snapshotTerm() || incoming.total != m.totalBytes()) {
      if (m.offset() != 0) {
        metrics.snapshotChunksRefused++;
        send(new InstallSnapshotResponse(id, m.from(), term, m.index(), 0, false));
        return;
      }
      incoming = new Incoming(m.index(), m.snapshotTerm(), m.totalBytes());
    }
    if (m.offset() != incoming.data.size() || m.offset() + m.chunk().length > m.totalBytes()) {
      // Out of order (a lost or duplicated chunk): tell the leader where we are, so it resumes there.
      metrics.snapshotChunksRefused++;
      send(new InstallSnapshotResponse(id, m.from(), term, m.index(), incoming.data.size(), false));
      return;
    }
    incoming.data.writeBytes(m.chunk());
    if (incoming.data.size() < incoming.total) {
      send(new InstallSnapshotResponse(id, m.from(), term, m.index(), incoming.data.size(), false));
      return;
    }
    Configuration snapConf;
    try {
      snapConf = Configuration.decode(m.configuration());
    } catch (IllegalArgumentException e) {
      metrics.snapshotChunksRefused++;
      incoming = null;
      return;
    }
    Snapshot s = new Snapshot(m.index(), m.snapshotTerm(), snapConf, incoming.data.toByteArray());
    incoming = null;
    installSnapshot(s);
    send(new InstallSnapshotResponse(id, m.from(), term, s.index(), s.data().length, true));
  }

  private void installSnapshot(Snapshot s) {
    log.restore(s.index(), s.term());
    snapshot = s;
    snapshotToSave = s;
    baseConf = s.configuration();
    recomputeConf();
    metrics.snapshotsInstalled++;
  }

  private void handleReadIndexRequest(ReadIndexRequest r) {
    if (role != Role.LEADER) {
      send(new ReadIndexResponse(id, r.from(), term, r.requestId(), -1));
      return;
    }
    readAsLeader(new PendingRead(r.requestId(), r.from(), -1, -1), false);
  }

  private void handleReadIndexResponse(ReadIndexResponse r) {
    if (r.index() < 0) metrics.readsFailed++;
    readStates.add(new ReadState(r.requestId(), r.index()));
  }

  // ---------------------------------------------------------------------------------------------
  // Replication: leader side

  private void handleAppendResponse(AppendEntriesResponse r) {
    Progress pr = leaderProgress(r.from());
    if (pr == null) return;
    if (r.success()) {
      if (pr.state == Progress.State.SNAPSHOT && r.index() < pr.snapshot.index()) return;
      if (pr.acked(r.index())) maybeCommit();
      maybeSendTimeoutNow();
      return;
    }
    // A rejection is stale if it answers a message sent before we already learned better.
    if (r.index() <= pr.match || pr.state == Progress.State.SNAPSHOT) {
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
    if (r.round() > pr.ackedRound) {
      pr.ackedRound = r.round();
      maybeConfirmReads();
    }
    switch (pr.state) {
      case PROBE -> pr.probeSent = false; // a lost probe would stall the follower forever
      case REPLICATE -> {
        if (pr.match < log.lastIndex() && pr.match == pr.matchAtLastHeartbeat) {
          // No acknowledgement for a whole heartbeat interval while entries are outstanding:
          // assume an AppendEntries was lost and resend from the last known match.
          pr.becomeProbe(pr.match + 1);
          metrics.resends++;
        }
      }
      case SNAPSHOT -> {
        if (pr.snapshotOffset == pr.snapshotOffsetAtLastHeartbeat) pr.snapshotChunkOut = false;
        pr.snapshotOffsetAtLastHeartbeat = pr.snapshotOffset;
      }
    }
    pr.matchAtLastHeartbeat = pr.match;
  }

  private void handleInstallSnapshotResponse(InstallSnapshotResponse r) {
    Progress pr = leaderProgress(r.from());
    if (pr == null) return;
    if (pr.state != Progress.State.SNAPSHOT || r.index() != pr.snapshot.index()) {
      if (r.done() && pr.acked(Math.min(r.index(), log.lastIndex()))) maybeCommit();
      return;
    }
    if (r.done()) {
      pr.match = Math.max(pr.match, r.index());
      pr.becomeProbe(r.index() + 1);
      maybeCommit();
      return;
    }
    pr.snapshotOffset = Math.min(r.nextOffset(), pr.snapshot.data().length);
    pr.snapshotChunkOut = false;
  }

  private Progress leaderProgress(String from) {
    if (role != Role.LEADER) {
      metrics.dropped++;
      return null;
    }
    Progress pr = progress.get(from);
    if (pr == null) {
      metrics.dropped++;
      return null;
    }
    pr.recentActive = true;
    pr.lastHeardTick = leaderTicks;
    return pr;
  }

  /** §5.3, §5.4.2: commit the highest index stored on a majority, if it is of the current term. */
  private void maybeCommit() {
    if (role != Role.LEADER) return;
    long[] matches = new long[conf.voters().size()];
    int i = 0;
    for (String v : conf.voters()) {
      // Our own log counts only as far as it is forced: our AppendEntries leave before our own sync
      // (§10.2.1), so followers may acknowledge entries we could still lose in a crash.
      matches[i++] = v.equals(id) ? log.durable() : (progress.containsKey(v) ? progress.get(v).match : 0);
    }
    Arrays.sort(matches);
    long majorityMatch = matches[matches.length - conf.quorum()];
    if (majorityMatch <= log.committed() || log.term(majorityMatch) != term) return;
    boolean firstInTerm = !committedInTerm();
    log.commitTo(majorityMatch);
    if (firstInTerm) {
      List<PendingRead> waiting = new ArrayList<>(readsAwaitingTermCommit);
      readsAwaitingTermCommit.clear();
      for (PendingRead r : waiting) readAsLeader(r, false);
    }
    if (!conf.isVoter(id) && confIndex <= log.committed()) {
      // Dissertation §4.2.2: a leader removed from the configuration steps down once the change
      // commits; hand over at once rather than leave the group to time out.
      String next = mostUpToDateVoter();
      if (next != null) send(new TimeoutNow(id, next, term));
      becomeFollower(term, null);
    }
  }

  /** Releases reads whose heartbeat round a majority of voters answered; renews the lease. */
  private void maybeConfirmReads() {
    long[] acked = new long[conf.voters().size()];
    int i = 0;
    for (String v : conf.voters()) {
      Progress pr = progress.get(v);
      acked[i++] = v.equals(id) ? Long.MAX_VALUE : (pr == null ? 0 : pr.ackedRound);
    }
    Arrays.sort(acked);
    long confirmed = acked[acked.length - conf.quorum()];
    while (!roundSentAt.isEmpty() && roundSentAt.peekFirst()[0] <= confirmed) {
      long[] sent = roundSentAt.pollFirst();
      if (sent[0] == confirmed) leaseStartTick = Math.max(leaseStartTick, sent[1]);
    }
    while (!pendingReads.isEmpty() && pendingReads.peekFirst().round <= confirmed) {
      PendingRead r = pendingReads.pollFirst();
      metrics.readIndexRounds++;
      answerRead(r, r.index);
    }
  }

  private void failPendingReads() {
    for (PendingRead r : pendingReads) failRead(r);
    for (PendingRead r : readsAwaitingTermCommit) failRead(r);
    pendingReads.clear();
    readsAwaitingTermCommit.clear();
  }

  private void failRead(PendingRead r) {
    metrics.readsFailed++;
    if (r.requester == null) readStates.add(new ReadState(r.requestId, -1));
    else send(new ReadIndexResponse(id, r.requester, term, r.requestId, -1));
  }

  private void sendHeartbeats() {
    round++;
    roundSentAt.addLast(new long[] {round, leaderTicks});
    while (roundSentAt.size() > 64) roundSentAt.pollFirst();
    for (var e : progress.entrySet()) {
      Progress pr = e.getValue();
      send(new Heartbeat(id, e.getKey(), term, Math.min(pr.match, log.committed()), round));
    }
    maybeConfirmReads(); // a group of one confirms on its own
  }

  private void sendAppends() {
    for (var e : progress.entrySet()) {
      String to = e.getKey();
      Progress pr = e.getValue();
      if (pr.state != Progress.State.SNAPSHOT && pr.next <= log.snapshotIndex()) {
        // §7: the entries this follower needs are compacted away.
        RaftLog.check(snapshot != null, "%s needs index %d behind the log start %d but there is no snapshot", to, pr.next, log.firstIndex());
        pr.becomeSnapshot(snapshot);
      }
      switch (pr.state) {
        case SNAPSHOT -> {
          if (!pr.snapshotChunkOut) sendSnapshotChunk(to, pr);
        }
        case PROBE -> {
          if (pr.canSend()) sendAppend(to, pr);
        }
        case REPLICATE -> {
          while (pr.canSend() && pr.next <= log.lastIndex()) sendAppend(to, pr);
        }
      }
    }
  }

  private void sendAppend(String to, Progress pr) {
    long prev = pr.next - 1;
    List<Entry> batch = log.slice(pr.next, config.maxMsgBytes());
    send(new AppendEntries(id, to, term, prev, log.term(prev), batch, log.committed()));
    pr.sent(prev + batch.size());
    metrics.appendsSent++;
  }

  private void sendSnapshotChunk(String to, Progress pr) {
    Snapshot s = pr.snapshot;
    int from = (int) pr.snapshotOffset;
    int len = Math.min(config.snapshotChunkBytes(), s.data().length - from);
    byte[] chunk = Arrays.copyOfRange(s.data(), from, from + len);
    send(new InstallSnapshot(id, to, term, s.index(), s.term(), s.configuration().encode(), s.data().length, from, chunk));
    pr.snapshotChunkOut = true;
    metrics.snapshotChunksSent++;
  }

  // ---------------------------------------------------------------------------------------------
  // Durability reports

  /**
   * The runtime forced its log up to the entry ({@code index}, {@code term}): the last entry of the
   * Readies a sync covered, or the snapshot's index and term when no entry followed it. A leader
   * counts its own log towards a commit only up to here, so this may commit (a group of one commits
   * only here); the next {@link #ready()} carries the commit. Ignored when the entry is no longer in
   * the log as reported (a conflict truncated it since, or it was compacted).
   */
  public void persisted(long index, long term) {
    if (log.persistedTo(index, term)) maybeCommit();
  }

  /**
   * The runtime forced {@code hardState} (the last one it saved before a sync). Until the current term
   * and vote are reported here, every message waits for the sync (none goes in {@link
   * Ready#sendBeforeSync()}). Reports must come in the order the hard states were handed out.
   */
  public void persistedHardState(HardState hardState) {
    Objects.requireNonNull(hardState, "hardState");
    if (hardState.term() < durableTerm) return;
    durableTerm = hardState.term();
    durableVote = hardState.votedFor();
  }

  /** Whether the current term and vote are forced: what any message of ours implicitly relies on. */
  private boolean termDurable() {
    return durableTerm == term && Objects.equals(durableVote, votedFor);
  }

  /**
   * Whether {@code m} may leave before this Ready's sync (and any earlier one still in flight), given
   * that our term and vote are durable. The leader's replication messages may: a follower's
   * acknowledgement of them counts towards a commit on its own disk, and the leader counts its own
   * log only as far as {@link #persisted} reported. So may replies that acknowledge no entry and cast
   * no vote: a heartbeat answer (the round it confirms is about who leads now, not about any disk)
   * and the ReadIndex exchange (its index is a commit index, already durable on a majority). An
   * AppendEntriesResponse (acknowledges entries), InstallSnapshotResponse, vote messages and
   * TimeoutNow wait for the sync.
   */
  private static boolean mayLeaveBeforeSync(Message m) {
    return m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot
        || m instanceof HeartbeatResponse || m instanceof ReadIndexRequest || m instanceof ReadIndexResponse;
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
    if (role == Role.LEADER) {
      if (roundRequested) {
        roundRequested = false;
        sendHeartbeats();
      }
      sendAppends();
    }
    HardState hs = new HardState(term, votedFor, log.committed());
    HardState changed = hs.equals(lastHardState) ? null : hs;
    // Only a new term or vote must be forced; the commit index is volatile state (Figure 2).
    boolean syncHardState = changed != null
        && (changed.term() != lastHardState.term() || !Objects.equals(changed.votedFor(), lastHardState.votedFor()));
    lastHardState = hs;
    Snapshot snap = snapshotToSave;
    snapshotToSave = null;
    List<Entry> entries = log.drainUnstable();
    List<Entry> committed = log.drainCommitted();
    if (changed == null && snap == null && entries.isEmpty() && outbox.isEmpty() && committed.isEmpty() && readStates.isEmpty()) {
      return Ready.EMPTY;
    }
    List<Message> early = new ArrayList<>();
    List<Message> late = new ArrayList<>();
    boolean termDurable = termDurable();
    for (Message m : outbox) {
      if (termDurable && m.term() == term && mayLeaveBeforeSync(m)) early.add(m);
      else late.add(m);
    }
    outbox = new ArrayList<>();
    List<ReadState> reads = readStates;
    readStates = new ArrayList<>();
    return new Ready(changed, syncHardState, snap, entries, early, late, committed, reads);
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

  /**
   * Highest index handed to the application through {@link Ready#committed()}: it advances when
   * {@code ready()} hands entries out, before the runtime has applied them (the runtime keeps its own
   * applied index for serving reads).
   */
  public long appliedIndex() {
    return log.applied();
  }

  public long lastIndex() {
    return log.lastIndex();
  }

  public long lastTerm() {
    return log.lastTerm();
  }

  /** Index of the first entry still in the log (entries before it are in the snapshot). */
  public long firstIndex() {
    return log.firstIndex();
  }

  /** The configuration in force (the latest appended, committed or not). */
  public Configuration configuration() {
    return conf;
  }

  /** Index of the entry that holds {@link #configuration()} (the snapshot's index when it came from one). */
  public long configurationIndex() {
    return confIndex;
  }

  public List<String> voters() {
    return List.copyOf(conf.voters());
  }

  public boolean isVoter() {
    return conf.isVoter(id);
  }

  /** The member a leadership transfer is handing over to, or null. */
  public String transferee() {
    return transferee;
  }

  /** The latest snapshot this member holds, or null. */
  public Snapshot snapshot() {
    return snapshot;
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

  /** Leader only: whether {@code member} answered within the last election timeout. */
  public boolean isReachable(String member) {
    return role == Role.LEADER && reachable(member);
  }

  public RaftMetrics metrics() {
    return metrics;
  }

  /**
   * Term of the entry at {@code index} in the in-memory log (the snapshot's term at the log's start
   * offset), -1 outside it: with {@link #configurationAt}, what a runtime needs to store a snapshot
   * it takes at an applied index before it calls {@link #compact}.
   */
  public long termAt(long index) {
    return log.term(index);
  }

  /**
   * The configuration in force at {@code index}, which must lie in the in-memory log or be its start
   * offset (checked: a compacted index has no answer).
   */
  public Configuration configurationAt(long index) {
    RaftLog.check(index >= log.snapshotIndex() && index <= log.lastIndex(),
        "configuration at %d outside the log [%d, %d]", index, log.snapshotIndex(), log.lastIndex());
    return confAt(index);
  }

  /** Entry at {@code index} from the in-memory log, for tests and diagnostics. */
  public Entry entryAt(long index) {
    return log.entry(index);
  }

  @Override
  public String toString() {
    return "RaftNode{" + id + " " + role + " term=" + term + " last=" + log.lastIndex()
        + " commit=" + log.committed() + " leader=" + leader + " " + conf + "}";
  }

  private record PendingRead(long requestId, String requester, long index, long round) {}

  /** A snapshot arriving chunk by chunk. */
  private static final class Incoming {
    final long index;
    final long term;
    final long total;
    final ByteArrayOutputStream data = new ByteArrayOutputStream();

    Incoming(long index, long term, long total) {
      this.index = index;
      this.term = term;
      this.total = total;
    }
  }
}
