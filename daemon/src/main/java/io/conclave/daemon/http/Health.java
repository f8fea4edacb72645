package io.conclave.daemon.http;

import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.MemberState;
import io.conclave.daemon.cluster.RaftRole;
import io.conclave.daemon.cluster.RaftStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The rules of /v1/health, as a pure function of a snapshot and the time.
 *
 * <ul>
 *   <li>critical (503): this member is not alive (left/failed); Raft not running here; no leader
 *       known; the leader never heard from, or silent longer than the critical threshold.
 *   <li>warning (429): the leader silent longer than the warning threshold; any suspect member.
 *   <li>passing (200): otherwise.
 * </ul>
 *
 * <p>Failed members are counted but do not degrade health: after a host dies they stay listed
 * until reaped, and every other daemon's probe would otherwise stay in warning that long.
 */
public final class Health {

  /** The three answers, with their HTTP status codes. */
  public enum Status {
    PASSING(200), WARNING(429), CRITICAL(503);

    private final int httpStatus;

    Status(int httpStatus) {
      this.httpStatus = httpStatus;
    }

    public int httpStatus() {
      return httpStatus;
    }

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The verdict and the facts behind it. */
  public record Report(Status status, List<String> reasons, String node, RaftRole role,
      String leader, long term, long commitIndex, OptionalLong lastContactMs, long alive,
      long suspect, long failed, long left) {

    /**
     * The JSON body: {@code status}, {@code reason} (unless passing), {@code node}, {@code role},
     * {@code leader}, {@code term}, {@code commit_index}, {@code last_contact_ms} (null when
     * never), and {@code members} with the alive/suspect/failed/left counts.
     */
    public Map<String, Object> body() {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("status", status.wireName());
      if (status != Status.PASSING) {
        body.put("reason", String.join("; ", reasons));
      }
      body.put("node", node);
      body.put("role", role.wireName());
      body.put("leader", leader);
      body.put("term", term);
      body.put("commit_index", commitIndex);
      body.put("last_contact_ms", lastContactMs.isPresent() ? lastContactMs.getAsLong() : null);
      Map<String, Object> members = new LinkedHashMap<>();
      members.put("alive", alive);
      members.put("suspect", suspect);
      members.put("failed", failed);
      members.put("left", left);
      body.put("members", members);
      return body;
    }
  }

  private Health() {}

  public static Report evaluate(ClusterSnapshot snapshot, Instant now, HealthPolicy policy) {
    RaftStatus raft = snapshot.raft();
    OptionalLong lastContactMs = lastContactMs(raft, now);
    List<String> critical = new ArrayList<>();
    List<String> warning = new ArrayList<>();
    MemberState selfState = snapshot.self().state();
    if (selfState == MemberState.LEFT || selfState == MemberState.FAILED || selfState == MemberState.LEAVING) {
      critical.add("this member is " + selfState.stateName());
    }
    if (raft.role() == RaftRole.NONE) {
      critical.add(raft.note().isEmpty() ? "raft not running" : raft.note());
    } else if (!raft.leaderKnown()) {
      critical.add(raft.role() == RaftRole.CANDIDATE
          ? "no known leader (election in progress, term " + raft.term() + ")"
          : "no known leader");
    } else if (lastContactMs.isEmpty()) {
      critical.add("leader never heard from");
    } else if (lastContactMs.getAsLong() > policy.leaderContactCritical().toMillis()) {
      critical.add("leader last heard from " + lastContactMs.getAsLong() + " ms ago");
    } else if (lastContactMs.getAsLong() > policy.leaderContactWarn().toMillis()) {
      warning.add("leader last heard from " + lastContactMs.getAsLong() + " ms ago");
    }
    long suspect = snapshot.count(MemberState.SUSPECT);
    if (suspect > 0) {
      warning.add(suspect + (suspect == 1 ? " suspect member" : " suspect members"));
    }
    Status status = !critical.isEmpty() ? Status.CRITICAL
        : !warning.isEmpty() ? Status.WARNING : Status.PASSING;
    List<String> reasons = new ArrayList<>(critical);
    reasons.addAll(warning);
    return new Report(status, List.copyOf(reasons), snapshot.self().name(), raft.role(),
        raft.leaderAddress(), raft.term(), raft.commitIndex(), lastContactMs,
        snapshot.count(MemberState.ALIVE), suspect, snapshot.count(MemberState.FAILED),
        snapshot.count(MemberState.LEFT));
  }

  /** 0 on the leader; ms since the leader was heard from otherwise; empty when never or unknown. */
  static OptionalLong lastContactMs(RaftStatus raft, Instant now) {
    if (raft.role() == RaftRole.LEADER) {
      return OptionalLong.of(0);
    }
    if (!raft.leaderKnown() || raft.leaderContactAt().isEmpty()) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(Math.max(0, Duration.between(raft.leaderContactAt().get(), now).toMillis()));
  }
}
