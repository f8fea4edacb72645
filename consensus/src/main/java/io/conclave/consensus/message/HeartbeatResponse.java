package io.conclave.consensus.message;

/**
 * A follower's answer to {@link Heartbeat}: proves it is reachable (check-quorum), unpauses probing,
 * and echoes the heartbeat {@code round} it answers.
 */
public record HeartbeatResponse(String from, String to, long term, long round) implements Message {}
