package io.conclave.daemon.kv;

import io.vertx.core.Future;

/**
 * A group of one without Raft: each write is applied at once with the next index, in order. It is
 * linearizable (one copy, applies serialized) and is what the HTTP tests and a single-process
 * playground run against until the Raft runtime provides its own {@link KvBackend}.
 */
public final class LocalKvBackend implements KvBackend {
  private final KvStateMachine store;
  private long nextIndex; // guarded by this

  public LocalKvBackend(KvStateMachine store) {
    this.store = store;
    this.nextIndex = store.lastApplied() + 1;
  }

  @Override
  public Future<KvResult> write(byte[] command) {
    KvResult result;
    synchronized (this) {
      result = store.apply(nextIndex++, command);
    }
    return Future.succeededFuture(result);
  }

  @Override
  public Future<Void> readBarrier(Consistency consistency) {
    return Future.succeededFuture();
  }

  @Override
  public KvStateMachine local() {
    return store;
  }

  @Override
  public boolean knownLeader() {
    return true;
  }

  @Override
  public long lastContactMs() {
    return 0;
  }
}
