package io.conclave.consensus.message;

/** The leader's confirmed read index for a follower's request; {@code index} -1 when refused. */
public record ReadIndexResponse(String from, String to, long term, long requestId, long index) implements Message {}
