package io.conclave.consensus.message;

/** A follower asks the leader for a read index on behalf of its client (dissertation §6.4). */
public record ReadIndexRequest(String from, String to, long term, long requestId) implements Message {}
