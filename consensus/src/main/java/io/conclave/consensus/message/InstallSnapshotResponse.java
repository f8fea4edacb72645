package io.conclave.consensus.message;

/**
 * A follower's answer to {@link InstallSnapshot}: the offset it wants next for snapshot {@code
 * index}, or {@code done} once it installed it (or already had everything up to it).
 */
public record InstallSnapshotResponse(String from, String to, long term, long index, long nextOffset, boolean done)
    implements Message {}
