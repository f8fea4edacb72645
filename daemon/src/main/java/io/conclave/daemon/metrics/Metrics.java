package io.conclave.daemon.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The daemon's meter registry and its two renderings for /v1/agent/metrics. */
public final class Metrics {
  /** Content type of the Prometheus text exposition format 0.0.4. */
  public static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private Metrics() {}

  public static PrometheusMeterRegistry newRegistry() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    return registry;
  }

  /**
   * Consul's JSON shape of /v1/agent/metrics (without {@code ?format=prometheus}): Timestamp,
   * Gauges [{Name, Value, Labels}], Points [], Counters and Samples [{Name, Count, Sum, Min, Max,
   * Mean, Stddev, Labels}]. Values are totals since start, not Consul's 10 s windows.
   */
  public static Map<String, Object> consulJson(PrometheusMeterRegistry registry, Instant now) {
    List<Map<String, Object>> gauges = new ArrayList<>();
    List<Map<String, Object>> counters = new ArrayList<>();
    List<Map<String, Object>> samples = new ArrayList<>();
    for (Meter meter : registry.getMeters()) {
      String name = meter.getId().getName();
      Map<String, String> labels = new LinkedHashMap<>();
      for (Tag tag : meter.getId().getTags()) {
        labels.put(tag.getKey(), tag.getValue());
      }
      if (meter instanceof Gauge gauge) {
        gauges.add(gauge(name, gauge.value(), labels));
      } else if (meter instanceof Counter counter) {
        counters.add(summary(name, counter.count(), counter.count(), labels));
      } else if (meter instanceof FunctionCounter counter) {
        counters.add(summary(name, counter.count(), counter.count(), labels));
      } else if (meter instanceof Timer timer) {
        HistogramSnapshot snapshot = timer.takeSnapshot();
        Map<String, Object> sample = summary(name, snapshot.count(), snapshot.total(TimeUnit.MILLISECONDS), labels);
        sample.put("Max", snapshot.max(TimeUnit.MILLISECONDS));
        sample.put("Mean", snapshot.mean(TimeUnit.MILLISECONDS));
        samples.add(sample);
      }
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("Timestamp", now.toString());
    body.put("Gauges", gauges);
    body.put("Points", List.of());
    body.put("Counters", counters);
    body.put("Samples", samples);
    return body;
  }

  private static Map<String, Object> gauge(String name, double value, Map<String, String> labels) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("Name", name);
    entry.put("Value", Double.isFinite(value) ? value : 0.0);
    entry.put("Labels", labels);
    return entry;
  }

  private static Map<String, Object> summary(String name, double count, double sum, Map<String, String> labels) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("Name", name);
    entry.put("Count", (long) count);
    entry.put("Sum", sum);
    entry.put("Min", 0.0);
    entry.put("Max", 0.0);
    entry.put("Mean", count == 0 ? 0.0 : sum / count);
    entry.put("Stddev", 0.0);
    entry.put("Labels", labels);
    return entry;
  }
}
