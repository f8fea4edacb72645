package io.conclave.consensus.message;

/**
 * One chunk of a snapshot for a follower behind the leader's compacted log (Raft §7). Chunks go one
 * at a time; the follower answers with the offset it wants next, so a lost chunk or a restarted
 * transfer resumes where the follower is.
 *
 * @param configuration encoded {@link io.conclave.consensus.raft.Configuration} at {@code index}
 * @param totalBytes size of the whole snapshot
 * @param offset where {@code chunk} starts
 */
public record InstallSnapshot(
    String from,
    String to,
    long term,
    long index,
    long snapshotTerm,
    byte[] configuration,
    long totalBytes,
    long offset,
    byte[] chunk)
    implements Message {
  public boolean last() {
    return offset + chunk.length == totalBytes;
  }
}
