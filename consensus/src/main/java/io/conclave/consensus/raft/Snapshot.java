package io.conclave.consensus.raft;

import java.util.Objects;

/**
 * The application's state as of log index {@code index} (whose term is {@code term}), with the
 * configuration in force there. The core treats {@code data} as opaque bytes: it ships them to
 * followers that are behind the compacted log in chunks of InstallSnapshot.
 */
public record Snapshot(long index, long term, Configuration configuration, byte[] data) {
  public Snapshot {
    Objects.requireNonNull(configuration, "configuration");
    Objects.requireNonNull(data, "data");
    if (index < 1 || term < 1) throw new IllegalArgumentException("snapshot at " + index + "@" + term);
  }

  @Override
  public String toString() {
    return "Snapshot{" + index + "@" + term + " " + configuration + " " + data.length + "B}";
  }
}
