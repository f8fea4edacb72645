package io.conclave.consensus.log;

/**
 * What Raft must keep across a crash besides the log (Figure 2 "persistent state"): the current term
 * and the vote cast in it. The commit index is kept too, so a restarted node can re-apply without
 * waiting for a leader; it is advisory (a lower one after a crash is safe).
 *
 * @param term current term, 0 before the first election
 * @param votedFor the member voted for in {@code term}, or null
 * @param commit highest index known committed when this was saved
 */
public record HardState(long term, String votedFor, long commit) {
  public static final HardState EMPTY = new HardState(0, null, 0);

  public HardState {
    if (term < 0) throw new IllegalArgumentException("term " + term + " < 0");
    if (commit < 0) throw new IllegalArgumentException("commit " + commit + " < 0");
  }
}
