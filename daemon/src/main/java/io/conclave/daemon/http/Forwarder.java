package io.conclave.daemon.http;

import io.conclave.daemon.cluster.ClusterControlException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The internal channel between daemons: one HTTP request to another daemon's HTTP port, over a
 * pool of keep-alive connections. Followers use it to hand writes to the leader, client agents to
 * hand any KV request to a server, and every daemon for operator requests that need the leader.
 *
 * <p>A forwarded request carries {@link #HOPS_HEADER}; the daemon that receives it serves it itself
 * and never forwards it again, so a request crosses at most one hop beyond the first daemon even
 * while leadership moves (the first daemon retries instead).
 */
public final class Forwarder {
  /** Set on a forwarded request; its value is the forwarding daemon's node name. */
  public static final String HOPS_HEADER = "X-Conclave-Forwarded";

  /** Connections kept per target daemon (default 64): bounds the in-flight forwarded requests. */
  public static final int POOL_SIZE_DEFAULT = 64;
  /** Requests waiting for a pooled connection before new ones fail fast. */
  static final int WAIT_QUEUE_MAX = 4096;
  /** Time to open a connection to another daemon on the LAN. */
  static final int CONNECT_TIMEOUT_MS = 1000;

  /** What the other daemon answered. */
  public record Reply(int status, MultiMap headers, Buffer body) {
    public String text() {
      return body.toString();
    }
  }

  private final String node;
  private final HttpClientAgent client;
  private Counter failures;
  private Timer latency;

  public Forwarder(Vertx vertx, String node) {
    this.node = node;
    this.client = vertx.createHttpClient(
        new HttpClientOptions().setKeepAlive(true).setConnectTimeout(CONNECT_TIMEOUT_MS),
        new PoolOptions().setHttp1MaxSize(POOL_SIZE_DEFAULT).setMaxWaitQueueSize(WAIT_QUEUE_MAX));
  }

  /** Registers {@code conclave.forward.requests} (timer) and {@code conclave.forward.failures}. */
  public Forwarder bindMetrics(MeterRegistry registry) {
    latency = Timer.builder("conclave.forward.requests").description("requests forwarded to another daemon")
        .register(registry);
    failures = Counter.builder("conclave.forward.failures")
        .description("forwarded requests with no reply (connection refused, reset, timed out)").register(registry);
    return this;
  }

  /**
   * Sends one request to {@code hostPort} ("host:port"). Fails only when no reply came (the target
   * may or may not have acted on it); every HTTP status is a {@link Reply}.
   *
   * @param uri path and query, as received (still percent-encoded)
   * @param headers copied onto the request; {@code null} for none
   * @param timeoutMs bound on the whole exchange
   */
  public Future<Reply> send(String hostPort, HttpMethod method, String uri, MultiMap headers, Buffer body,
      long timeoutMs) {
    Optional<int[]> port = parsePort(hostPort);
    if (port.isEmpty()) {
      return Future.failedFuture(new ClusterControlException(ClusterControlException.Kind.UNAVAILABLE,
          "bad forwarding address " + hostPort));
    }
    String host = hostPort.substring(0, hostPort.lastIndexOf(':'));
    RequestOptions options = new RequestOptions().setMethod(method).setHost(host).setPort(port.get()[0])
        .setURI(uri).setTimeout(Math.max(1, timeoutMs));
    if (headers != null) {
      headers.forEach(options::putHeader);
    }
    options.putHeader(HOPS_HEADER, node);
    long start = System.nanoTime();
    return client.request(options)
        .compose(req -> body == null ? req.send() : req.send(body))
        .compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(), resp.headers(), b)))
        .onComplete(ar -> {
          if (latency != null) {
            latency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
          }
          if (ar.failed() && failures != null) {
            failures.increment();
          }
        });
  }

  /**
   * Whether a {@link #send} failure shows the request never reached the other daemon (the
   * connection was refused or could not be opened), so it cannot have been acted on.
   */
  public static boolean neverSent(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException || t instanceof io.vertx.core.http.ConnectionPoolTooBusyException) {
        return true;
      }
    }
    return false;
  }

  public Future<Void> close() {
    return client.close();
  }

  private static Optional<int[]> parsePort(String hostPort) {
    int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
    if (colon <= 0) {
      return Optional.empty();
    }
    try {
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      return port > 0 && port < 65536 ? Optional.of(new int[] {port}) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
