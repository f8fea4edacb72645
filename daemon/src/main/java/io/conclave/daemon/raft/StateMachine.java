package io.conclave.daemon.raft;

/**
 * The application the Raft log drives (the KV store). {@link RaftRuntime} calls it on its own
 * Vert.x context, one committed command at a time, in log order, exactly once per index per process
 * run (after a restart the log is replayed from the start, so an in-memory state machine rebuilds
 * itself).
 *
 * <p>Only {@code COMMAND} entries reach it; no-ops and configuration entries are Raft's own.
 * It must be deterministic (same commands in the same order give the same state on every server)
 * and must not block: it runs on the event loop that also drives Raft.
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

  /** Ignores every command: for a server without an application yet. */
  StateMachine NONE = (index, command) -> null;
}
