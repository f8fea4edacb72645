package io.conclave.consensus.codec;

/**
 * Turns an application's command type into the opaque bytes Raft replicates, and back. The core only
 * ever sees bytes; an application replicates its own type through
 * {@link io.conclave.consensus.raft.RaftNode#propose(Object, Codec)} and decodes applied entries with
 * the same codec.
 *
 * <p>Decoding runs on every server for every committed entry, so it must be deterministic and must
 * accept everything {@link #encode} produced, across versions the cluster may run side by side.
 */
public interface Codec<T> {
  byte[] encode(T value);

  /** @throws IllegalArgumentException when the bytes are not a value of this codec */
  T decode(byte[] bytes);
}
