package io.conclave.daemon.gossip;

import io.conclave.membership.swim.MemberEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The gossip core's counters as Micrometer meters. The core counts on its own context; the runtime
 * copies {@code SwimCounters.asMap()} here every second ({@link #publish}), so a scrape on another
 * thread never reads the core. Names: every core counter under its own name ({@code swim.probe.failed}
 * becomes {@code swim_probe_failed_total}); the core's drops as {@code swim.drop{reason}}; member
 * events as {@code conclave.gossip.member.events{kind}}; the runtime's own drops as
 * {@code conclave.gossip.dropped{reason}}.
 */
final class GossipMetrics {
  private static final String DROP_PREFIX = "swim.drop.";

  private final MeterRegistry registry;
  private final Map<String, AtomicLong> values = new ConcurrentHashMap<>();
  private final Map<String, Counter> runtimeDrops = new ConcurrentHashMap<>();

  GossipMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Copies the core's counters (called on the gossip context). */
  void publish(Map<String, Long> counters) {
    counters.forEach((name, value) -> values.computeIfAbsent(name, this::register).set(value));
  }

  private AtomicLong register(String name) {
    AtomicLong holder = new AtomicLong();
    FunctionCounter.Builder<AtomicLong> b;
    if (name.startsWith(DROP_PREFIX)) {
      b = FunctionCounter.builder("swim.drop", holder, AtomicLong::doubleValue)
          .tag("reason", name.substring(DROP_PREFIX.length()))
          .description("gossip packets and streams the core dropped, by reason");
    } else {
      b = FunctionCounter.builder(name, holder, AtomicLong::doubleValue).description("gossip core counter");
    }
    b.register(registry);
    return holder;
  }

  void event(MemberEvent e) {
    Counter.builder("conclave.gossip.member.events").tag("kind", e.kind().name().toLowerCase(Locale.ROOT))
        .description("member events seen by this daemon's gossip").register(registry).increment();
  }

  void dropped(String reason) {
    runtimeDrops.computeIfAbsent(reason, r -> Counter.builder("conclave.gossip.dropped").tag("reason", r)
        .description("gossip inputs the runtime dropped before the core").register(registry)).increment();
  }

  long droppedCount(String reason) {
    Counter c = runtimeDrops.get(reason);
    return c == null ? 0 : (long) c.count();
  }

  /** A published core counter; 0 when never published. */
  long value(String name) {
    AtomicLong v = values.get(name);
    return v == null ? 0 : v.get();
  }
}
