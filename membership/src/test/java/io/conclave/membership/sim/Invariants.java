package io.conclave.membership.sim;

import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;
import io.conclave.membership.swim.MemberEvent;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checked on every member event as the simulation runs (STYLE §6):
 * <ul>
 *   <li>per observer, a member's incarnation never decreases (until the observer reaps it);
 *   <li>no member is marked failed at an incarnation at which nobody suspected it (SWIM §4.2: failure
 *       only through an expired suspicion);
 *   <li>a member never sees itself as anything but alive unless it is leaving.
 * </ul>
 * A violation throws at once. False positives (a running, not-leaving member marked failed) are
 * collected for the tests to assert on, since some scenarios (a long pause) legitimately cause them.
 */
public final class Invariants {
  private final SimCluster cluster;
  private long[][] incarnations = new long[0][]; // [observer][subject] = last incarnation + 1, 0 = unknown
  private final Set<String> suspected = new HashSet<>();
  public final List<String> falsePositives = new ArrayList<>();
  public long suspicionsOfRunningMembers;

  Invariants(SimCluster cluster) {
    this.cluster = cluster;
  }

  void onEvent(long nowMs, SimCluster.SimMember observer, MemberEvent ev) {
    Member s = ev.member();
    SimCluster.SimMember subject = cluster.member(s.name());
    if (subject == null) {
      fail("%s reports unknown member %s", observer.name, s.name());
    }
    long[] seen = row(observer.index);
    if (ev.kind() == MemberEvent.Kind.REAPED) {
      seen[subject.index] = 0;
      return;
    }
    long last = seen[subject.index] - 1;
    if (last >= 0 && s.incarnation() < last) {
      fail("%s saw incarnation of %s go back from %d to %d (%s)", observer.name, s.name(), last,
          s.incarnation(), ev.kind());
    }
    seen[subject.index] = s.incarnation() + 1;
    boolean running = subject != null && !subject.isCrashed() && !subject.node.isLeaving();
    switch (ev.kind()) {
      case SUSPECT -> {
        suspected.add(s.name() + "@" + s.incarnation());
        if (running) {
          suspicionsOfRunningMembers++;
        }
      }
      case FAILED -> {
        if (!suspected.contains(s.name() + "@" + s.incarnation())) {
          fail("%s marked %s failed at incarnation %d, which nobody suspected", observer.name,
              s.name(), s.incarnation());
        }
        if (running) {
          falsePositives.add(String.format("t=%dms %s marked running %s failed (inc %d)", nowMs,
              observer.name, s.name(), s.incarnation()));
        }
      }
      default -> { }
    }
  }

  private long[] row(int observer) {
    int n = cluster.members().size();
    if (incarnations.length < n) {
      incarnations = java.util.Arrays.copyOf(incarnations, Math.max(n, incarnations.length * 2));
    }
    if (incarnations[observer] == null || incarnations[observer].length < n) {
      long[] old = incarnations[observer] == null ? new long[0] : incarnations[observer];
      incarnations[observer] = java.util.Arrays.copyOf(old, Math.max(n, 16));
    }
    return incarnations[observer];
  }

  /** A restarted process is a new observer: its view starts empty. */
  void forgetObserver(SimCluster.SimMember m) {
    if (m.index < incarnations.length && incarnations[m.index] != null) {
      java.util.Arrays.fill(incarnations[m.index], 0);
    }
  }

  void afterStep(SimCluster.SimMember m) {
    MemberState self = m.node.self().state();
    if (self != MemberState.ALIVE && !m.node.isLeaving()) {
      fail("%s sees itself %s", m.name, self);
    }
  }

  private void fail(String fmt, Object... args) {
    throw new AssertionError("invariant broken: " + String.format(fmt, args) + " [" + cluster.describe() + "]");
  }
}
