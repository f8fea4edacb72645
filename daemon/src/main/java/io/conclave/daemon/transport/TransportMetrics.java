package io.conclave.daemon.transport;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The counters of one transport, tagged {@code transport=<name>}: messages and bytes in and out,
 * and drops by reason ({@code conclave.transport.dropped{transport,reason}}, Prometheus
 * {@code conclave_transport_dropped_total}).
 */
final class TransportMetrics {
  private final MeterRegistry registry;
  private final String transport;
  private final Map<String, Counter> drops = new ConcurrentHashMap<>();
  private final Counter messagesIn;
  private final Counter messagesOut;
  private final Counter bytesIn;
  private final Counter bytesOut;

  TransportMetrics(MeterRegistry registry, String transport) {
    this.registry = registry;
    this.transport = transport;
    this.messagesIn = traffic("conclave.transport.messages", "in");
    this.messagesOut = traffic("conclave.transport.messages", "out");
    this.bytesIn = traffic("conclave.transport.bytes", "in");
    this.bytesOut = traffic("conclave.transport.bytes", "out");
  }

  private Counter traffic(String name, String direction) {
    return Counter.builder(name).tag("transport", transport).tag("direction", direction)
        .register(registry);
  }

  void connectFailed() {
    Counter.builder("conclave.transport.connect.failures").tag("transport", transport)
        .register(registry).increment();
  }

  void dropped(String reason) {
    drops.computeIfAbsent(reason, r -> Counter.builder("conclave.transport.dropped")
        .description("messages, packets and bytes dropped, by reason")
        .tag("transport", transport).tag("reason", r).register(registry)).increment();
  }

  long droppedCount(String reason) {
    Counter counter = drops.get(reason);
    return counter == null ? 0 : (long) counter.count();
  }

  void received(int bytes) {
    messagesIn.increment();
    bytesIn.increment(bytes);
  }

  /** Raw bytes read from a stream, before framing; lets tests see a partial frame arrive. */
  void bytesRead(int bytes) {
    bytesIn.increment(bytes);
  }

  long bytesReadCount() {
    return (long) bytesIn.count();
  }

  void sent(int bytes) {
    messagesOut.increment();
    bytesOut.increment(bytes);
  }

  long receivedCount() {
    return (long) messagesIn.count();
  }

  long sentCount() {
    return (long) messagesOut.count();
  }

  MeterRegistry registry() {
    return registry;
  }

  String transport() {
    return transport;
  }
}
