package io.conclave.consensus.message;

/** Leadership transfer (dissertation §3.10): the leader tells an up-to-date voter to campaign now. */
public record TimeoutNow(String from, String to, long term) implements Message {}
