package io.conclave.membership.sim;

import io.conclave.membership.member.MemberState;
import io.conclave.membership.swim.MemberEvent;
import io.conclave.membership.swim.SwimConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The simulation report (a command, not a test): for n = 10, 100, 1,000, with 0% and 10% packet loss,
 * and for our {@link SwimConfig#lan()} beside memberlist's defaults, it measures in the seeded simulator
 * <ul>
 *   <li>rumor: time until a tag change reaches every member;
 *   <li>detect: time until every running member marks a crashed member failed (and until the first
 *       suspicion);
 *   <li>false positives: running members marked failed by anyone during the whole run;
 *   <li>bandwidth: bytes sent (UDP and push-pull) per member per second over a steady window.
 * </ul>
 * Run: {@code mvn -pl membership -q test-compile exec:java -Dexec.mainClass=io.conclave.membership.sim.SwimReport
 * -Dexec.classpathScope=test [-Dexec.args="seeds steadySeconds sizes"]}.
 */
public final class SwimReport {
  record Row(String config, int n, double loss, double rumorMs, double rumorMaxMs, double suspectMs,
      double detectMs, double detectMaxMs, long fp, double bytesPerMemberSec, int runs) {}

  public static void main(String[] args) {
    int seeds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    long steadyMs = (args.length > 1 ? Long.parseLong(args[1]) : 120) * 1000;
    int[] sizes = args.length > 2
        ? java.util.Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
        : new int[] {10, 100, 1000};
    Map<String, SwimConfig> configs = new java.util.LinkedHashMap<>();
    configs.put("memberlist", SwimConfig.memberlistLan());
    configs.put("conclave lan", SwimConfig.lan());
    List<Row> rows = new ArrayList<>();
    for (int n : sizes) {
      for (double loss : new double[] {0.0, 0.10}) {
        for (Map.Entry<String, SwimConfig> c : configs.entrySet()) {
          rows.add(measure(c.getKey(), c.getValue(), n, loss, seeds, steadyMs));
          System.err.println("done " + rows.get(rows.size() - 1));
        }
      }
    }
    print(rows, seeds, steadyMs);
  }

  static Row measure(String name, SwimConfig config, int n, double loss, int seeds, long steadyMs) {
    double rumorSum = 0, rumorMax = 0, suspectSum = 0, detectSum = 0, detectMax = 0, bytesSum = 0;
    long fp = 0;
    for (int s = 1; s <= seeds; s++) {
      Result r = runOnce(config, n, loss, 1000L * n + s, steadyMs);
      rumorSum += r.rumorMs;
      rumorMax = Math.max(rumorMax, r.rumorMs);
      suspectSum += r.suspectMs;
      detectSum += r.detectMs;
      detectMax = Math.max(detectMax, r.detectMs);
      bytesSum += r.bytesPerMemberSec;
      fp += r.falsePositives;
    }
    return new Row(name, n, loss, rumorSum / seeds, rumorMax, suspectSum / seeds, detectSum / seeds,
        detectMax, fp, bytesSum / seeds, seeds);
  }

  record Result(long rumorMs, long suspectMs, long detectMs, long falsePositives, double bytesPerMemberSec) {}

  /** One seeded run: form, steady window under loss, a tag change, a crash. */
  public static Result runOnce(SwimConfig config, int n, double loss, long seed, long steadyMs) {
    SimCluster c = new SimCluster(seed, config);
    c.formInstantly(n);
    c.setLoss(loss);
    c.runFor(10_000);

    long bytes0 = c.bytesSentTotal();
    long t0 = c.nowMs();
    c.runFor(steadyMs);
    double bytesPerMemberSec = (c.bytesSentTotal() - bytes0) * 1000.0 / n / (c.nowMs() - t0);

    SimCluster.SimMember changer = c.members().get(1);
    Set<String> updated = new HashSet<>();
    long[] firstSuspect = {-1};
    SimCluster.SimMember victim = c.members().get(n / 2);
    c.addListener((now, observer, ev) -> {
      if (ev.member().name().equals(changer.name) && ev.kind() == MemberEvent.Kind.UPDATED) {
        updated.add(observer.name);
      }
      if (ev.member().name().equals(victim.name) && ev.kind() == MemberEvent.Kind.SUSPECT
          && firstSuspect[0] < 0 && victim.isCrashed()) {
        firstSuspect[0] = now;
      }
    });
    long rumorStart = c.nowMs();
    c.setTags(changer, Map.of("role", "client", "version", "2"));
    c.runUntil(rumorStart + 120_000, 10, () -> updated.size() == n - 1);
    long rumorMs = updated.size() == n - 1 ? c.nowMs() - rumorStart : -1;

    c.runFor(5_000);
    c.crash(victim);
    long crashAt = c.nowMs();
    boolean detected = c.runUntil(crashAt + 300_000, 10, () -> c.allRunningSee(victim.name, MemberState.FAILED));
    long detectMs = detected ? c.nowMs() - crashAt : -1;
    return new Result(rumorMs, firstSuspect[0] < 0 ? -1 : firstSuspect[0] - crashAt, detectMs,
        c.invariants.falsePositives.size(), bytesPerMemberSec);
  }

  static void print(List<Row> rows, int seeds, long steadyMs) {
    System.out.printf(Locale.ROOT, "%n%d seeds per row; steady window %d s; latency 1-5 ms; times in seconds (mean / max over seeds)%n%n",
        seeds, steadyMs / 1000);
    System.out.println("| config | n | loss | rumor to all (s) | first suspicion (s) | crash failed at all (s) | false positives | bytes/member/s |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (Row r : rows) {
      System.out.printf(Locale.ROOT, "| %s | %d | %.0f%% | %.2f / %.2f | %.2f | %.2f / %.2f | %d | %.0f |%n",
          r.config(), r.n(), r.loss() * 100, r.rumorMs() / 1000, r.rumorMaxMs() / 1000,
          r.suspectMs() / 1000, r.detectMs() / 1000, r.detectMaxMs() / 1000, r.fp(), r.bytesPerMemberSec());
    }
  }
}
