package io.conclave.daemon.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftStatus;
import io.conclave.daemon.http.Health;
import io.conclave.daemon.http.HealthPolicy;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A daemon that is leaving shows Consul's Status 2 and fails its health, whatever Raft says. */
class GossipLeavingTest {

  @Test
  void leavingIsStatusTwoAndCritical() {
    Member self = new Member("n1", "127.0.0.1", 8521, Map.of("role", "client"), MemberState.LEAVING, 3);
    assertThat(self.state().consulStatus()).isEqualTo(2);
    assertThat(self.state().stateName()).isEqualTo("leaving");
    Instant now = Instant.parse("2026-11-22T00:00:10Z");
    RaftStatus raft = new RaftStatus(RaftRole.CLIENT, "n2", "127.0.0.1:8522", 4, 0, Optional.of(now), "");
    Health.Report report = Health.evaluate(new ClusterSnapshot(self, List.of(self), raft, Optional.empty()), now,
        HealthPolicy.defaults());
    assertThat(report.status()).isEqualTo(Health.Status.CRITICAL);
    assertThat(report.reasons()).contains("this member is leaving");
  }
}
