package io.conclave.consensus.message;

/**
 * Asks for a vote (Raft §5.2) or, with {@code preVote}, asks whether the receiver would vote in the
 * next term without anyone changing term (dissertation §9.6). A pre-vote carries the term the
 * candidate would campaign in (its term + 1).
 *
 * @param transfer set when the leader asked the candidate to campaign (leadership transfer): the
 *     receiver votes even if it has heard from a leader recently
 */
public record RequestVote(
    String from,
    String to,
    long term,
    long lastLogIndex,
    long lastLogTerm,
    boolean preVote,
    boolean transfer)
    implements Message {}
