package io.conclave.daemon.bridge;

import io.conclave.daemon.raft.RaftRuntime;
import io.conclave.daemon.raft.RaftState;
import io.vertx.core.Future;
import java.util.Map;

/**
 * The Raft operations autopilot needs, on the Raft runtime's context. {@link #of} adapts a
 * {@link RaftRuntime}; tests may fake it.
 */
public interface RaftAdmin {
  Future<RaftState> state();

  /** Leader only: each follower's match index and reachability; empty on a follower. */
  Future<Map<String, RaftRuntime.Progress>> progress();

  Future<Long> addLearner(String id);

  Future<Long> promote(String id);

  Future<Long> remove(String id);

  static RaftAdmin of(RaftRuntime raft) {
    return new RaftAdmin() {
      @Override
      public Future<RaftState> state() {
        return raft.state();
      }

      @Override
      public Future<Map<String, RaftRuntime.Progress>> progress() {
        return raft.followerProgress();
      }

      @Override
      public Future<Long> addLearner(String id) {
        return raft.addLearner(id);
      }

      @Override
      public Future<Long> promote(String id) {
        return raft.promote(id);
      }

      @Override
      public Future<Long> remove(String id) {
        return raft.remove(id);
      }
    };
  }
}
