package io.conclave.consensus.message;

/**
 * The leader's periodic assertion of its leadership. Kept apart from {@link AppendEntries} so that
 * heartbeats never disturb the replication pipeline. {@code commit} is the leader's commit index
 * capped at what this follower is known to hold, so the follower may apply up to it safely. {@code
 * round} numbers the leader's heartbeat rounds: echoed back, it confirms leadership for reads
 * (ReadIndex, dissertation §6.4) and for the lease.
 */
public record Heartbeat(String from, String to, long term, long commit, long round) implements Message {}
