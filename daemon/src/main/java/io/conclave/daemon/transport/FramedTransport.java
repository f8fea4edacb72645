package io.conclave.daemon.transport;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Length-prefixed, versioned frames over TCP ({@link FrameCodec}), for Raft messages and gossip
 * push-pull. Carries opaque bytes.
 *
 * <ul>
 *   <li>One-way messages ({@link #send}): one outbound connection per destination, reused; frames
 *       wait in a bounded queue per peer (drop-oldest, counted "queue_full") while connecting or
 *       congested; a lost connection is re-established with jittered exponential back-off, only
 *       while frames are waiting.
 *   <li>Request/response ({@link #request}): a fresh connection per request, one frame out, one
 *       frame back, with a timeout (gossip push-pull, like memberlist's TCP state sync).
 *   <li>Inbound: every frame of every connection goes to the {@link #handler}; it may answer on
 *       the frame's channel. Oversized, malformed or unknown-version frames are dropped, counted and
 *       close their connection; the listener keeps serving.
 * </ul>
 *
 * <p>Threading: everything runs on the {@link Context} given to {@link #start}; the handler is
 * called there. {@link #send}, {@link #request}, {@link #disconnect} and {@link #close} may be
 * called from any thread.
 */
public final class FramedTransport {
  private static final Logger LOG = LoggerFactory.getLogger(FramedTransport.class);

  private final Context context;
  private final FramedOptions options;
  private final TransportMetrics metrics;
  private final RandomGenerator random;
  private final Optional<PacketSealer> sealer;
  private final NetClient client;
  private final Map<String, PeerLink> peers = new HashMap<>();
  private final Set<FrameConnection> inbound = new HashSet<>();
  private final AtomicInteger inboundOpen = new AtomicInteger();
  private final AtomicInteger outboundOpen = new AtomicInteger();
  private NetServer server;
  private volatile Consumer<InboundFrame> handler;
  private boolean closed;

  private FramedTransport(Context context, String name, FramedOptions options, MeterRegistry registry,
      RandomGenerator random, Optional<PacketSealer> sealer) {
    this.context = context;
    this.sealer = sealer;
    this.options = options;
    this.metrics = new TransportMetrics(registry, name);
    this.random = random;
    this.client = context.owner().createNetClient(new NetClientOptions()
        .setConnectTimeout(options.connectTimeoutMs())
        .setTcpNoDelay(true));
    Gauge.builder("conclave.transport.connections", inboundOpen, AtomicInteger::get)
        .tag("transport", name).tag("direction", "inbound").register(registry);
    Gauge.builder("conclave.transport.connections", outboundOpen, AtomicInteger::get)
        .tag("transport", name).tag("direction", "outbound").register(registry);
  }

  /**
   * Listens on {@code host:port} (0 = ephemeral) from within {@code context}.
   *
   * @param name the {@code transport} tag of this transport's metrics, e.g. {@code raft}
   */
  public static Future<FramedTransport> start(Context context, String name, String host, int port,
      FramedOptions options, MeterRegistry registry) {
    return start(context, name, host, port, options, registry, Optional.empty(), new SplittableRandom());
  }

  /**
   * As {@link #start(Context, String, String, int, FramedOptions, MeterRegistry)}, with an
   * envelope for every payload and the back-off jitter's source.
   *
   * @param sealer when present, payloads travel in the {@link PacketSealer} envelope in both
   *     directions (gossip push-pull carries the member list, so it is sealed like gossip packets
   *     under {@code --encrypt}; a peer with another key or none is dropped and disconnected)
   */
  public static Future<FramedTransport> start(Context context, String name, String host, int port,
      FramedOptions options, MeterRegistry registry, Optional<PacketSealer> sealer, RandomGenerator random) {
    Promise<FramedTransport> started = Promise.promise();
    context.runOnContext(v -> {
      FramedTransport transport = new FramedTransport(context, name, options, registry, random, sealer);
      Vertx vertx = context.owner();
      transport.server = vertx.createNetServer(new NetServerOptions()
              .setTcpNoDelay(true)
              .setIdleTimeout(options.idleTimeoutSeconds()))
          .connectHandler(transport::accept);
      transport.server.listen(port, host)
          .map(s -> transport)
          .onFailure(e -> transport.client.close())
          .onComplete(started);
    });
    return started.future();
  }

  /** Sets the receiver of inbound frames; until one is set, frames are dropped ("no_handler"). */
  public void handler(Consumer<InboundFrame> handler) {
    this.handler = Objects.requireNonNull(handler, "handler");
  }

  /** The listening port (the real one when started on port 0). */
  public int port() {
    return server.actualPort();
  }

  /** The largest payload {@link #send} and {@link #request} accept (frame bound less version and envelope). */
  public int payloadBytesMax() {
    return options.frameBytesMax() - 1 - sealer.map(PacketSealer::overheadBytes).orElse(0);
  }

  /**
   * Queues one frame for {@code host:port}, best effort. Returns false, counted "oversize_outbound",
   * when the payload exceeds {@link #payloadBytesMax()}; true means it was accepted, not that it
   * will arrive (it can still be dropped by the queue bound or a lost connection).
   */
  public boolean send(String host, int port, byte[] payload) {
    Buffer frame = FrameConnection.encode(payload, options.frameBytesMax(), sealer);
    if (frame == null) {
      metrics.dropped("oversize_outbound");
      return false;
    }
    onContext(() -> {
      if (closed) {
        metrics.dropped("closed");
        return;
      }
      peers.computeIfAbsent(host + ":" + port, k -> new PeerLink(host, port)).enqueue(frame);
    });
    return true;
  }

  /**
   * Sends one frame on a new connection and completes with the first frame that comes back; fails
   * on connect failure, an early close, a bad reply frame, or after {@code timeout}.
   */
  public Future<byte[]> request(String host, int port, byte[] payload, Duration timeout) {
    Buffer frame = FrameConnection.encode(payload, options.frameBytesMax(), sealer);
    if (frame == null) {
      metrics.dropped("oversize_outbound");
      return Future.failedFuture(new IllegalArgumentException(
          "payload of " + payload.length + " bytes exceeds " + payloadBytesMax()));
    }
    Promise<byte[]> reply = Promise.promise();
    onContext(() -> {
      long timer = context.owner().setTimer(Math.max(1, timeout.toMillis()), id ->
          reply.tryFail(new TimeoutException("no reply from " + host + ":" + port + " within " + timeout.toMillis() + " ms")));
      client.connect(port, host).onComplete(ar -> {
        if (ar.failed()) {
          reply.tryFail(ar.cause());
          return;
        }
        FrameConnection conn = new FrameConnection(ar.result(), options.frameBytesMax(), sealer, metrics,
            answer -> {
              reply.tryComplete(answer.payload());
              answer.channel().close();
            },
            () -> reply.tryFail(new IllegalStateException("connection to " + host + ":" + port + " closed before a reply")));
        conn.write(frame);
        reply.future().onComplete(r -> conn.close());
      });
      reply.future().onComplete(r -> context.owner().cancelTimer(timer));
    });
    return reply.future();
  }

  /** Closes the outbound connection to {@code host:port} and drops its queue (e.g. a removed peer). */
  public void disconnect(String host, int port) {
    onContext(() -> {
      PeerLink link = peers.remove(host + ":" + port);
      if (link != null) {
        link.shutdown();
      }
    });
  }

  /** Frames dropped for {@code reason} ("oversize", "malformed", "bad_version", "queue_full", ...). */
  public long dropped(String reason) {
    return metrics.droppedCount(reason);
  }

  public long receivedCount() {
    return metrics.receivedCount();
  }

  /** Accepted connections open now. */
  public int inboundConnections() {
    return inboundOpen.get();
  }

  /** Outbound (per-peer, reused) connections open now; request/response connections not included. */
  public int outboundConnections() {
    return outboundOpen.get();
  }

  /** Bytes read from all connections, framed or not. */
  public long bytesReadCount() {
    return metrics.bytesReadCount();
  }

  /** Stops listening, closes every connection and drops what is queued. */
  public Future<Void> close() {
    Promise<Void> done = Promise.promise();
    onContext(() -> {
      closed = true;
      peers.values().forEach(PeerLink::shutdown);
      peers.clear();
      Set.copyOf(inbound).forEach(FrameConnection::close);
      Future.join(server.close(), client.close()).<Void>mapEmpty().onComplete(done);
    });
    return done.future();
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private void accept(NetSocket socket) {
    if (closed) {
      socket.close();
      return;
    }
    if (inbound.size() >= options.inboundConnectionsMax()) {
      metrics.dropped("too_many_connections");
      LOG.debug("connection refused transport={} reason=too_many_connections remote={}", metrics.transport(), socket.remoteAddress());
      socket.close();
      return;
    }
    FrameConnection[] holder = new FrameConnection[1];
    holder[0] = new FrameConnection(socket, options.frameBytesMax(), sealer, metrics, this::deliver, () -> {
      inbound.remove(holder[0]);
      inboundOpen.decrementAndGet();
    });
    inbound.add(holder[0]);
    inboundOpen.incrementAndGet();
  }

  private void deliver(InboundFrame frame) {
    Consumer<InboundFrame> current = handler;
    if (current == null) {
      metrics.dropped("no_handler");
      return;
    }
    current.accept(frame);
  }

  /** The outbound side towards one destination: its connection, queue and back-off. */
  private final class PeerLink {
    private final String host;
    private final int port;
    private final ArrayDeque<Buffer> queue = new ArrayDeque<>();
    // invariant: queuedBytes == sum of queue's frame lengths
    private long queuedBytes;
    private FrameConnection connection;
    private boolean connecting;
    private int failures;
    private long retryTimer = -1;
    private boolean shut;

    PeerLink(String host, int port) {
      this.host = host;
      this.port = port;
    }

    void enqueue(Buffer frame) {
      while (!queue.isEmpty() && (queue.size() >= options.queueFramesMax()
          || queuedBytes + frame.length() > options.queueBytesMax())) {
        queuedBytes -= queue.pollFirst().length();
        metrics.dropped("queue_full");
      }
      queue.addLast(frame);
      queuedBytes += frame.length();
      pump();
    }

    private void pump() {
      if (connection != null) {
        flush();
      } else if (!connecting && retryTimer < 0) {
        connect();
      }
    }

    private void flush() {
      while (!queue.isEmpty() && !connection.writeQueueFull()) {
        Buffer frame = queue.pollFirst();
        queuedBytes -= frame.length();
        connection.write(frame);
      }
      if (!queue.isEmpty()) {
        FrameConnection current = connection;
        current.drainHandler(() -> {
          if (connection == current && !current.isClosed()) {
            flush();
          }
        });
      }
    }

    private void connect() {
      connecting = true;
      client.connect(port, host).onComplete(ar -> {
        connecting = false;
        if (ar.failed()) {
          failures++;
          metrics.connectFailed();
          if (failures == 1) {
            LOG.info("peer unreachable transport={} peer={}:{} error=\"{}\"", metrics.transport(), host, port, ar.cause().getMessage());
          } else {
            LOG.debug("connect failed transport={} peer={}:{} failures={} error=\"{}\"",
                metrics.transport(), host, port, failures, ar.cause().getMessage());
          }
          scheduleRetry();
          return;
        }
        if (shut) {
          ar.result().close();
          return;
        }
        if (failures > 0) {
          LOG.info("reconnected transport={} peer={}:{} after_failures={}", metrics.transport(), host, port, failures);
        }
        failures = 0;
        FrameConnection[] holder = new FrameConnection[1];
        holder[0] = new FrameConnection(ar.result(), options.frameBytesMax(), sealer, metrics,
            FramedTransport.this::deliver, () -> lost(holder[0]));
        connection = holder[0];
        outboundOpen.incrementAndGet();
        flush();
      });
    }

    private void lost(FrameConnection conn) {
      outboundOpen.decrementAndGet();
      if (connection != conn) {
        return;
      }
      connection = null;
      if (!shut && !queue.isEmpty()) {
        failures++;
        scheduleRetry();
      }
    }

    private void scheduleRetry() {
      if (shut) {
        return;
      }
      long delayMs = options.backoff().delayMs(failures, random);
      retryTimer = context.owner().setTimer(delayMs, id -> {
        retryTimer = -1;
        if (!shut && !queue.isEmpty() && connection == null && !connecting) {
          connect();
        }
      });
    }

    void shutdown() {
      shut = true;
      if (retryTimer >= 0) {
        context.owner().cancelTimer(retryTimer);
        retryTimer = -1;
      }
      queue.clear();
      queuedBytes = 0;
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }
  }
}
