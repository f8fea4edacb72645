package io.conclave.consensus.message;

/**
 * A Raft RPC between two members of the group. Every message carries the sender's term; the receiver
 * compares it with its own before anything else (Raft §5.1).
 */
public sealed interface Message
    permits AppendEntries,
        AppendEntriesResponse,
        Heartbeat,
        HeartbeatResponse,
        RequestVote,
        RequestVoteResponse,
        TimeoutNow,
        ReadIndexRequest,
        ReadIndexResponse,
        InstallSnapshot,
        InstallSnapshotResponse {
  String from();

  String to();

  long term();
}
