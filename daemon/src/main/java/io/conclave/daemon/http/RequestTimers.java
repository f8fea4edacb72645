package io.conclave.daemon.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One Micrometer timer per (endpoint, method, status), registered on first use and then found in a
 * map, so recording a request costs a map lookup and the timer's own update, not a tagged
 * registration on every request (which the registry answers by building and comparing a meter id:
 * about a tenth of a leader's event loop under load, docs/benchmarks.md).
 */
public final class RequestTimers {
  private record Key(String endpoint, String method, int status) {}

  private final MeterRegistry registry;
  private final String name;
  private final String description;
  private final ConcurrentHashMap<Key, Timer> timers = new ConcurrentHashMap<>();

  public RequestTimers(MeterRegistry registry, String name, String description) {
    this.registry = registry;
    this.name = name;
    this.description = description;
  }

  public void record(String endpoint, String method, int status, long nanos) {
    Key key = new Key(endpoint, method, status);
    Timer t = timers.get(key);
    if (t == null) {
      t = timers.computeIfAbsent(key, k -> Timer.builder(name).description(description)
          .tags("endpoint", k.endpoint(), "method", k.method(), "status", Integer.toString(k.status()))
          .register(registry));
    }
    t.record(nanos, TimeUnit.NANOSECONDS);
  }
}
