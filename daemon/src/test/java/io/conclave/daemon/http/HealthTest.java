package io.conclave.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The health rules as a pure function: passing, warning, critical, and what tips each. */
class HealthTest {
  static final Instant NOW = Instant.parse("2026-11-22T00:00:10Z");
  static final HealthPolicy POLICY = new HealthPolicy(Duration.ofSeconds(1), Duration.ofSeconds(5));

  static Member member(String name, MemberState state) {
    return new Member(name, "127.0.0.1", 8521, Map.of("role", "server"), state, 1);
  }

  static RaftStatus follower(Duration silence) {
    return new RaftStatus(RaftRole.FOLLOWER, "n2", "127.0.0.1:8522", 7, 42,
        Optional.of(NOW.minus(silence)), "");
  }

  static ClusterSnapshot snapshot(RaftStatus raft, Member... others) {
    Member self = member("n1", MemberState.ALIVE);
    List<Member> members = new java.util.ArrayList<>(List.of(self));
    members.addAll(List.of(others));
    return new ClusterSnapshot(self, members, raft, Optional.empty());
  }

  @Test
  void passingWithARecentLeader() {
    Health.Report report = Health.evaluate(snapshot(follower(Duration.ofMillis(100)),
        member("n2", MemberState.ALIVE), member("n3", MemberState.FAILED)), NOW, POLICY);
    assertThat(report.status()).isEqualTo(Health.Status.PASSING);
    assertThat(report.body()).containsEntry("status", "passing").doesNotContainKey("reason")
        .containsEntry("node", "n1").containsEntry("role", "follower").containsEntry("leader", "127.0.0.1:8522")
        .containsEntry("term", 7L).containsEntry("commit_index", 42L).containsEntry("last_contact_ms", 100L)
        .containsEntry("members", Map.of("alive", 2L, "suspect", 0L, "failed", 1L, "left", 0L));
  }

  @Test
  void theLeaderHasNoContactAge() {
    RaftStatus leader = new RaftStatus(RaftRole.LEADER, "n1", "127.0.0.1:8522", 3, 9, Optional.empty(), "");
    Health.Report report = Health.evaluate(snapshot(leader), NOW, POLICY);
    assertThat(report.status()).isEqualTo(Health.Status.PASSING);
    assertThat(report.lastContactMs()).hasValue(0);
  }

  @Test
  void agingLeaderContactWarnsThenGoesCritical() {
    assertThat(Health.evaluate(snapshot(follower(Duration.ofMillis(1_000))), NOW, POLICY).status())
        .as("at the threshold").isEqualTo(Health.Status.PASSING);
    Health.Report warning = Health.evaluate(snapshot(follower(Duration.ofMillis(1_001))), NOW, POLICY);
    assertThat(warning.status()).isEqualTo(Health.Status.WARNING);
    assertThat(warning.status().httpStatus()).isEqualTo(429);
    assertThat(warning.body()).containsEntry("reason", "leader last heard from 1001 ms ago");
    Health.Report critical = Health.evaluate(snapshot(follower(Duration.ofMillis(5_001))), NOW, POLICY);
    assertThat(critical.status()).isEqualTo(Health.Status.CRITICAL);
    assertThat(critical.status().httpStatus()).isEqualTo(503);
  }

  @Test
  void suspectMembersWarn() {
    Health.Report report = Health.evaluate(snapshot(follower(Duration.ZERO),
        member("n2", MemberState.SUSPECT), member("n3", MemberState.SUSPECT)), NOW, POLICY);
    assertThat(report.status()).isEqualTo(Health.Status.WARNING);
    assertThat(report.reasons()).containsExactly("2 suspect members");
  }

  @Test
  void criticalReasons() {
    assertThat(Health.evaluate(snapshot(RaftStatus.notRunning("raft not running")), NOW, POLICY).reasons())
        .containsExactly("raft not running");
    RaftStatus candidate = new RaftStatus(RaftRole.CANDIDATE, "", "", 8, 42, Optional.empty(), "");
    assertThat(Health.evaluate(snapshot(candidate), NOW, POLICY).reasons())
        .containsExactly("no known leader (election in progress, term 8)");
    RaftStatus never = new RaftStatus(RaftRole.CLIENT, "n2", "127.0.0.1:8522", 7, 0, Optional.empty(), "");
    assertThat(Health.evaluate(snapshot(never), NOW, POLICY).reasons()).containsExactly("leader never heard from");
    Member left = member("n1", MemberState.LEFT);
    ClusterSnapshot gone = new ClusterSnapshot(left, List.of(left), follower(Duration.ZERO), Optional.empty());
    Health.Report report = Health.evaluate(gone, NOW, POLICY);
    assertThat(report.status()).isEqualTo(Health.Status.CRITICAL);
    assertThat(report.body()).containsEntry("reason", "this member is left");
  }

  @Test
  void criticalAndWarningReasonsAreBothShown() {
    RaftStatus candidate = new RaftStatus(RaftRole.CANDIDATE, "", "", 8, 42, Optional.empty(), "");
    Health.Report report = Health.evaluate(snapshot(candidate, member("n2", MemberState.SUSPECT)), NOW, POLICY);
    assertThat(report.status()).isEqualTo(Health.Status.CRITICAL);
    assertThat(report.body().get("reason")).isEqualTo("no known leader (election in progress, term 8); 1 suspect member");
    assertThat(report.body()).containsEntry("last_contact_ms", null);
  }
}
