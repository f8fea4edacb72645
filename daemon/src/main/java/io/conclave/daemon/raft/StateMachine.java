package io.conclave.daemon.raft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The application the Raft log drives (the KV store). {@link RaftRuntime} calls it on its own
 * Vert.x context, one committed command at a time, in log order, exactly once per index per process
 * run. After a restart it is first restored from the latest snapshot (when there is one), then the
 * log after it is replayed, so an in-memory state machine rebuilds itself.
 *
 * <p>Only {@code COMMAND} entries reach it; no-ops and configuration entries are Raft's own.
 * It must be deterministic (same commands in the same order give the same state on every server)
 * and must not block: it runs on the event loop that also drives Raft.
 *
 * <p>Snapshots (see {@link SnapshotPolicy}): a state machine that supports them overrides
 * {@link #snapshots()}, {@link #snapshot()} and {@link #prepareRestore}. One that does not is never
 * snapshotted, and the runtime refuses to start from a data dir holding a snapshot; a group should
 * not mix the two.
 */
@FunctionalInterface
public interface StateMachine {

  /**
   * Applies the command committed at {@code index}.
   *
   * @return the result handed to whoever proposed it on this server (the future of
   *     {@link RaftRuntime#propose}); may be null. A thrown exception fails that future and is
   *     logged; the log moves on.
   */
  Object apply(long index, byte[] command);

  /** Whether {@link #snapshot()} and {@link #prepareRestore} are implemented. */
  default boolean snapshots() {
    return false;
  }

  /**
   * Captures the state as of the last {@link #apply} call, on the runtime's context, cheaply (a
   * copy of references, copy-on-write): later applies must not change what the returned capture
   * writes. The runtime then writes it on a worker thread.
   */
  default Capture snapshot() {
    throw new UnsupportedOperationException(getClass().getName() + " does not take snapshots");
  }

  /**
   * Reads a snapshot that {@link Capture#writeTo} wrote (here or on another server), on a worker
   * thread, without touching the current state; the returned {@link Restore} replaces the state
   * when the runtime installs it on its context.
   *
   * @throws IOException when the stream is not a snapshot this state machine can read (damaged,
   *     another version); the current state is left as it was
   */
  default Restore prepareRestore(InputStream in) throws IOException {
    throw new UnsupportedOperationException(getClass().getName() + " does not restore snapshots");
  }

  /** A consistent copy of the state, writable from any thread, once or more. */
  @FunctionalInterface
  interface Capture {
    /** Streams the state to {@code out} (flushed, not closed). */
    void writeTo(OutputStream out) throws IOException;
  }

  /** A snapshot read and checked, ready to replace the state. */
  @FunctionalInterface
  interface Restore {
    /** Replaces the state (on the runtime's context); wakes whoever waits on the old one. */
    void install();
  }

  /** Ignores every command and keeps no state, so its snapshots are empty. */
  StateMachine NONE = new StateMachine() {
    @Override
    public Object apply(long index, byte[] command) {
      return null;
    }

    @Override
    public boolean snapshots() {
      return true;
    }

    @Override
    public Capture snapshot() {
      return out -> {};
    }

    @Override
    public Restore prepareRestore(InputStream in) {
      return () -> {};
    }
  };
}
