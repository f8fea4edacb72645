package io.conclave.daemon.runtime;

import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterView;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;

/**
 * The part of the daemon that drives the protocol cores: it turns inbound frames into
 * {@code step()}, timers into {@code tick()}, and acts on the outputs (persist, send, apply).
 * {@link Daemon} owns Vert.x, the listeners and the transports; a runtime only uses them.
 *
 * <p>Lifecycle, all called by {@link Daemon}: {@link #start} once, after every listener is bound
 * and before the HTTP API answers; {@link ClusterControl#leave()} on SIGTERM or
 * {@code PUT /v1/agent/leave}; {@link #stop} once, before the transports close.
 */
public interface ClusterRuntime {

  /**
   * Wires the transports' handlers and starts the timers; runs on {@code ctx.context()}. A failed
   * future stops the start; a {@link StartException} there becomes the one line the user sees
   * (e.g. "data dir /x: corrupt log at index 17").
   */
  Future<Void> start(RuntimeContext ctx);

  /** The read side for the HTTP API; valid after {@link #start}. */
  ClusterView view();

  /** The write side for the HTTP API and SIGTERM; valid after {@link #start}. */
  ClusterControl control();

  /**
   * Adds the runtime's own HTTP routes (the KV API on servers) to the daemon's router, before the
   * HTTP server listens. Default: none.
   */
  default void mountHttp(Vertx vertx, Router router, MeterRegistry registry) {}

  /** Stops timers and flushes storage; the daemon closes the transports afterwards. */
  Future<Void> stop();
}
