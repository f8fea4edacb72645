package io.conclave.consensus.message;

/**
 * The answer to {@link RequestVote}. A granted pre-vote carries the term that was asked for; a
 * rejection carries the responder's own term.
 */
public record RequestVoteResponse(
    String from, String to, long term, boolean granted, boolean preVote) implements Message {}
