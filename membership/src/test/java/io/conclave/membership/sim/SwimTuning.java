package io.conclave.membership.sim;

import io.conclave.membership.swim.SwimConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The experiments behind lan()'s departures from memberlist: each variant changes one field of lan().
 * Run: {@code mvn -pl membership -q test-compile exec:java -Dexec.mainClass=io.conclave.membership.sim.SwimTuning
 * -Dexec.args="seeds steadySeconds sizes loss"}.
 */
public final class SwimTuning {
  public static void main(String[] args) {
    int seeds = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    long steadyMs = (args.length > 1 ? Long.parseLong(args[1]) : 60) * 1000;
    int[] sizes = args.length > 2
        ? java.util.Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
        : new int[] {10, 100, 1000};
    double loss = args.length > 3 ? Double.parseDouble(args[3]) : 0.10;
    SwimConfig lan = SwimConfig.lan();
    Map<String, SwimConfig> variants = new LinkedHashMap<>();
    variants.put("memberlist", SwimConfig.memberlistLan());
    variants.put("lan", lan);
    variants.put("lan, no direct retry", lan.toBuilder().retryDirectPing(false).build());
    variants.put("lan, no re-probes", lan.toBuilder().suspicionReprobes(0).build());
    variants.put("lan, suspicionMult 4 (memberlist)", lan.toBuilder().suspicionMult(4).build());
    variants.put("lan, suspicionMult 1.5", lan.toBuilder().suspicionMult(1.5).build());
    variants.put("lan, indirectChecks 4", lan.toBuilder().indirectChecks(4).build());
    variants.put("lan, confirmations 2", lan.toBuilder().suspicionConfirmations(2).build());
    List<SwimReport.Row> rows = new ArrayList<>();
    for (int n : sizes) {
      for (Map.Entry<String, SwimConfig> v : variants.entrySet()) {
        rows.add(SwimReport.measure(v.getKey(), v.getValue(), n, loss, seeds, steadyMs));
        System.err.println("done " + rows.get(rows.size() - 1));
      }
    }
    SwimReport.print(rows, seeds, steadyMs);
  }
}
