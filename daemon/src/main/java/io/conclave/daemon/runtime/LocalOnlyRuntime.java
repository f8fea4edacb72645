package io.conclave.daemon.runtime;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftStatus;
import io.vertx.core.Future;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The runtime until the Raft and gossip cores are wired in: it reports only what is true without
 * them. This daemon is an alive member of a cluster of one as far as it knows, Raft is not running
 * (so /v1/health is critical "raft not running"), and leader operations are unavailable. Inbound
 * gossip and Raft traffic finds no handler and is dropped and counted ("no_handler").
 */
public final class LocalOnlyRuntime implements ClusterRuntime {
  static final String NOT_RUNNING = "raft not running";

  private volatile ClusterSnapshot snapshot;

  @Override
  public Future<Void> start(RuntimeContext ctx) {
    String role = ctx.config().raftEnabled() ? Member.ROLE_SERVER : Member.ROLE_CLIENT;
    Member self = new Member(ctx.config().node(), ctx.config().advertise(), ctx.gossipUdp().port(),
        Map.of(Member.TAG_ROLE, role), MemberState.ALIVE, 0);
    snapshot = new ClusterSnapshot(self, List.of(self), RaftStatus.notRunning(NOT_RUNNING), Optional.empty());
    return Future.succeededFuture();
  }

  @Override
  public ClusterView view() {
    return () -> Future.succeededFuture(snapshot);
  }

  @Override
  public ClusterControl control() {
    return new ClusterControl() {
      @Override
      public Future<Void> leave() {
        return Future.succeededFuture(); // no gossip to announce to, no leadership to hand over
      }

      @Override
      public Future<Void> transferLeadership(Optional<String> targetId) {
        return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, NOT_RUNNING));
      }

      @Override
      public Future<Void> removePeer(String id) {
        return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, NOT_RUNNING));
      }
    };
  }

  @Override
  public Future<Void> stop() {
    return Future.succeededFuture();
  }
}
