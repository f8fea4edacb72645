package io.conclave.consensus.message;

/** A follower's answer to {@link Heartbeat}: proves it is reachable (check-quorum) and unpauses probing. */
public record HeartbeatResponse(String from, String to, long term) implements Message {}
