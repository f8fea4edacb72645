package io.conclave.daemon.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.daemon.metrics.Metrics;
import io.conclave.membership.swim.SwimCounters;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The core's counters reach the Prometheus registry: drops by reason under one name, the rest by name. */
class GossipMetricsTest {

  @Test
  void publishedCountersAreScraped() {
    PrometheusMeterRegistry registry = Metrics.newRegistry();
    GossipMetrics metrics = new GossipMetrics(registry);
    Map<String, Long> counters = new LinkedHashMap<>(new SwimCounters().asMap());
    counters.put("swim.probe.failed", 3L);
    counters.put("swim.drop.bad_version", 5L);
    metrics.publish(counters);
    metrics.publish(counters);
    assertThat(registry.get("swim.drop").tag("reason", "bad_version").functionCounter().count()).isEqualTo(5.0);
    assertThat(registry.scrape()).contains("swim_probe_failed_total 3.0");
    metrics.dropped("bad_sender");
    assertThat(metrics.droppedCount("bad_sender")).isEqualTo(1);
  }
}
