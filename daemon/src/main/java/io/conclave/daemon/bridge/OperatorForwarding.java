package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.http.Forwarder;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Operator requests that only the leader can carry out (transfer-leader, remove-peer), sent from a
 * daemon that is not the leader to the leader's HTTP API over the internal channel. The leader
 * serves a forwarded request itself ({@link ClusterControl#direct()}), so there is one hop at most;
 * its status comes back as the {@link ClusterControlException} kind it stands for.
 */
final class OperatorForwarding {
  /** Bound on one forwarded operator request: a transfer takes up to a few election timeouts. */
  static final long TIMEOUT_MS = 10_000;

  private final Supplier<Forwarder> forwarder;

  OperatorForwarding(Supplier<Forwarder> forwarder) {
    this.forwarder = forwarder;
  }

  Future<Void> transferLeadership(String leaderHttp, Optional<String> targetId) {
    String uri = "/v1/operator/raft/transfer-leader" + targetId.map(id -> "?id=" + encode(id)).orElse("");
    return send(leaderHttp, HttpMethod.POST, uri);
  }

  Future<Void> removePeer(String leaderHttp, String id) {
    return send(leaderHttp, HttpMethod.DELETE, "/v1/operator/raft/peer?id=" + encode(id));
  }

  private Future<Void> send(String leaderHttp, HttpMethod method, String uri) {
    Forwarder f = forwarder.get();
    if (f == null) {
      return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE, "not started"));
    }
    return f.send(leaderHttp, method, uri, null, null, TIMEOUT_MS)
        .recover(e -> Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.TIMEOUT,
            "the leader at " + leaderHttp + " did not answer: " + e.getMessage())))
        .compose(reply -> {
          if (reply.status() == 200) {
            return Future.succeededFuture();
          }
          ClusterControlException.Kind kind = switch (reply.status()) {
            case 500 -> ClusterControlException.Kind.NO_LEADER;
            case 400, 404 -> ClusterControlException.Kind.UNKNOWN_PEER;
            case 409 -> ClusterControlException.Kind.REJECTED;
            case 504 -> ClusterControlException.Kind.TIMEOUT;
            default -> ClusterControlException.Kind.UNAVAILABLE;
          };
          return Future.failedFuture(new ClusterControlException(kind, reply.text()));
        });
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
