package io.conclave.daemon.kv;

import io.conclave.daemon.http.Forwarder;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KV API on a client agent: {@code /v1/kv/*} and {@code /v1/txn} are handed, as received, to a
 * server over the internal channel (the leader first, so writes take no second hop) and its reply
 * is relayed unchanged, headers included. The caller sees one request; nothing is redirected.
 *
 * <p>Every write gets a {@link RequestId} of this agent in {@link KvHttp#REQUEST_ID_HEADER}, so when
 * a server does not answer (it died, the leader moved) the same request can be retried on the next
 * server and still applies once. Retries stop at {@code bound}: then 500 "No cluster leader" if no
 * server ever took the request (not applied), 504 if one took it without answering (may be applied),
 * also when a later server answers 500 "No cluster leader" itself.
 * Bodies are limited here as on a server (413), so an oversized value never crosses the network.
 *
 * <p>At most {@link #WRITES_IN_FLIGHT_DEFAULT} writes are in flight at once (retries included), the
 * rest wait their turn in arrival order and take their sequence number only when they go. Writes
 * on several connections reach the log in any order, and a server refuses a write numbered at or
 * below the lowest of the agent's last 128 results ({@code DedupeTable}): it cannot tell it from one
 * already applied. With fewer than 128 in flight, no fresh write can fall that far behind.
 */
public final class KvProxy {
  private static final Logger LOG = LoggerFactory.getLogger(KvProxy.class);
  /** Headers that describe one connection, not the request: never copied across the hop. */
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "transfer-encoding",
      "content-length", "host", "expect", "upgrade", "te", "trailer", "proxy-connection",
      Forwarder.HOPS_HEADER.toLowerCase(Locale.ROOT), KvHttp.REQUEST_ID_HEADER.toLowerCase(Locale.ROOT));
  static final long RETRY_PAUSE_MS = 50;
  /** Half the servers' dedupe window ({@code DedupeTable.WINDOW_MAX_DEFAULT}, 128). */
  static final int WRITES_IN_FLIGHT_DEFAULT = DedupeTable.WINDOW_MAX_DEFAULT / 2;

  private final Vertx vertx;
  private final Forwarder forwarder;
  private final Supplier<List<String>> servers;
  private final String agentId;
  private final long boundMs;
  private final AtomicLong seq = new AtomicLong();
  private final Slots writeSlots;

  /**
   * @param servers the HTTP addresses of live servers, the leader first; asked per request
   * @param agentId this agent's id for exactly-once writes, unique per process lifetime
   * @param bound how long a request may wait for a server that answers
   */
  public KvProxy(Vertx vertx, Forwarder forwarder, Supplier<List<String>> servers, String agentId, Duration bound) {
    this(vertx, forwarder, servers, agentId, bound, WRITES_IN_FLIGHT_DEFAULT);
  }

  KvProxy(Vertx vertx, Forwarder forwarder, Supplier<List<String>> servers, String agentId, Duration bound,
      int writesInFlightMax) {
    this.writeSlots = new Slots(writesInFlightMax);
    this.vertx = vertx;
    this.forwarder = forwarder;
    this.servers = servers;
    this.agentId = agentId;
    this.boundMs = bound.toMillis();
  }

  public void mount(Router router) {
    for (String path : List.of(KvHttp.KV_PREFIX, KvHttp.KV_PREFIX + "/*")) {
      mount(router, path, KvHttp.VALUE_BYTES_MAX);
    }
    mount(router, KvHttp.TXN_PATH, KvHttp.TXN_BODY_BYTES_MAX);
  }

  private void mount(Router router, String path, int bodyMax) {
    router.route(path).handler(ctx -> KvHttp.rawBody(ctx, bodyMax));
    router.route(path).handler(BodyHandler.create(false).setBodyLimit(bodyMax));
    router.route(path).failureHandler(ctx -> {
      if (ctx.statusCode() == 413) {
        KvHttp.text(ctx, 413, "Request body too large, max size: " + bodyMax + " bytes");
      } else {
        LOG.warn("kv proxy failed path={} error=\"{}\"", ctx.request().path(), String.valueOf(ctx.failure()));
        KvHttp.text(ctx, ctx.statusCode() > 0 ? ctx.statusCode() : 500, "Bad request");
      }
    });
    router.route(path).handler(this::proxy);
  }

  private void proxy(RoutingContext ctx) {
    HttpMethod method = ctx.request().method();
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    ctx.request().headers().forEach((name, value) -> {
      if (!HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))) {
        headers.add(name, value);
      }
    });
    boolean write = method != HttpMethod.GET && method != HttpMethod.HEAD;
    Buffer body = ctx.body() == null ? null : ctx.body().buffer();
    // a blocking query may legitimately take its whole wait (plus jitter) before the server answers
    // one exchange may take the server's own wait for a leader (the same bound) and then some
    long exchangeMs = 2 * boundMs;
    if (ctx.queryParams().contains("index")) {
      long waitMs = GoDuration.parse(ctx.queryParams().get("wait")).map(Duration::toMillis)
          .orElse(BlockingWait.DEFAULT.toMillis());
      waitMs = Math.min(Math.max(waitMs, 0), BlockingWait.MAX.toMillis());
      exchangeMs += waitMs + waitMs / BlockingWait.JITTER_FRACTION;
    }
    long deadlineNanos = System.nanoTime() + boundMs * 1_000_000; // a wait for a write slot counts too
    long exchange = exchangeMs;
    if (!write) {
      new Attempt(ctx, method, headers, body, exchange, deadlineNanos, false).next(0);
      return;
    }
    Context context = vertx.getOrCreateContext();
    writeSlots.acquire(context, () -> {
      headers.set(KvHttp.REQUEST_ID_HEADER, agentId + "/" + seq.incrementAndGet());
      new Attempt(ctx, method, headers, body, exchange, deadlineNanos, true).next(0);
    });
  }

  /**
   * At most {@code max} holders; the others wait in arrival order, each started on its own context
   * when a holder releases. Safe from any thread.
   */
  static final class Slots {
    private final int max;
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
    private int held;

    Slots(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("slots must be >= 1: " + max);
      }
      this.max = max;
    }

    /** Runs {@code start} now if a slot is free, else on {@code context} once one is. */
    void acquire(Context context, Runnable start) {
      synchronized (this) {
        if (held >= max) {
          waiting.addLast(() -> context.runOnContext(v -> start.run()));
          return;
        }
        held++;
      }
      start.run();
    }

    /** Gives the slot to the longest waiting, or frees it. */
    void release() {
      Runnable next;
      synchronized (this) {
        next = waiting.pollFirst();
        if (next == null) {
          held--;
        }
      }
      if (next != null) {
        next.run();
      }
    }

    synchronized int held() {
      return held;
    }

    synchronized int waiting() {
      return waiting.size();
    }
  }

  /** One client request, tried on server after server until one answers or the bound ends. */
  private final class Attempt {
    final RoutingContext ctx;
    final HttpMethod method;
    final MultiMap headers;
    final Buffer body;
    final long exchangeMs;
    final long deadlineNanos;
    /** Holds a write slot until it ends. */
    boolean holdsSlot;
    boolean sent;
    String lastError = "no server is known to gossip yet";

    Attempt(RoutingContext ctx, HttpMethod method, MultiMap headers, Buffer body, long exchangeMs, long deadlineNanos,
        boolean holdsSlot) {
      this.holdsSlot = holdsSlot;
      this.ctx = ctx;
      this.method = method;
      this.headers = headers;
      this.body = body;
      this.exchangeMs = exchangeMs;
      this.deadlineNanos = deadlineNanos;
    }

    /** The request is over (answered, failed, or its caller gone): its write slot goes to the next. */
    void end() {
      if (holdsSlot) {
        holdsSlot = false;
        writeSlots.release();
      }
    }

    void next(int tried) {
      if (ctx.response().closed()) {
        end();
        return; // the caller went away
      }
      List<String> targets = servers.get();
      if (!targets.isEmpty()) {
        String target = targets.get(tried % targets.size());
        forwarder.send(target, method, ctx.request().uri(), headers, body, exchangeMs).onComplete(ar -> {
          if (ar.succeeded()) {
            relay(ar.result());
          } else {
            sent |= !Forwarder.neverSent(ar.cause());
            lastError = "server at " + target + " did not answer: " + ar.cause().getMessage();
            LOG.debug("kv proxy retry target={} error=\"{}\"", target, ar.cause().getMessage());
            retry(tried + 1);
          }
        });
        return;
      }
      retry(tried);
    }

    void retry(int tried) {
      long leftMs = (deadlineNanos - System.nanoTime()) / 1_000_000;
      if (leftMs <= RETRY_PAUSE_MS) {
        if (sent && method != HttpMethod.GET) {
          KvHttp.text(ctx, 504, "Timed out after " + boundMs + " ms: " + lastError
              + " (the request may still be applied)");
        } else if (sent) {
          KvHttp.text(ctx, 504, "Timed out after " + boundMs + " ms: " + lastError);
        } else {
          LOG.warn("kv request failed: no server within {} ms path={}", boundMs, ctx.request().path());
          KvHttp.text(ctx, 500, "No cluster leader");
        }
        end();
        return;
      }
      vertx.setTimer(RETRY_PAUSE_MS, t -> next(tried));
    }

    void relay(Forwarder.Reply reply) {
      end();
      if (ctx.response().ended() || ctx.response().closed()) {
        return;
      }
      if (sent && method != HttpMethod.GET && method != HttpMethod.HEAD && reply.status() == 500
          && reply.body().toString().equals("No cluster leader")) {
        // this server found no leader, but an earlier one took the write without answering: it may
        // be in a log and apply later, so "not applied" would be a lie
        KvHttp.text(ctx, 504, "Timed out after " + boundMs + " ms: " + lastError + "; then "
            + "no cluster leader (the request may still be applied)");
        return;
      }
      ctx.response().setStatusCode(reply.status());
      reply.headers().forEach((name, value) -> {
        if (!HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))) {
          ctx.response().headers().add(name, value);
        }
      });
      if (!reply.headers().contains(HttpHeaders.CONTENT_TYPE)) {
        ctx.response().headers().remove(HttpHeaders.CONTENT_TYPE);
      }
      ctx.response().end(reply.body());
    }
  }
}
