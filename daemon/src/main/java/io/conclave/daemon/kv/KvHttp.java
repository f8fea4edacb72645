package io.conclave.daemon.kv;

import io.conclave.daemon.http.Forwarder;
import io.conclave.daemon.http.RequestTimers;
import io.conclave.daemon.runtime.Handoff;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.cluster.ClusterControlException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consul's {@code /v1/kv/<key>} (GET, PUT, DELETE) and {@code PUT /v1/txn} over a {@link KvBackend}.
 * Mount with {@link #mount(Router)} on the daemon's router: the KV routes carry their own body
 * limits (512 KiB values) and failure handler, so the router's 64 KiB control limit is untouched.
 *
 * <p>Every write gets a {@link RequestId} of this agent (node + boot nonce, sequence), so a retry
 * of the same bytes after a leader change answers the first result instead of applying twice.
 */
public final class KvHttp {
  private static final Logger LOG = LoggerFactory.getLogger(KvHttp.class);

  /** Consul's kv_max_value_size default; a bigger PUT body gets 413. */
  public static final int VALUE_BYTES_MAX = 512 * 1024;
  /** Consul's txn_max_req_len default: the whole {@code /v1/txn} body. */
  public static final int TXN_BODY_BYTES_MAX = 512 * 1024;
  /** SPEC: keys up to 512 bytes of UTF-8. */
  public static final int KEY_BYTES_MAX = 512;

  static final String JSON = "application/json";
  static final String TEXT = "text/plain; charset=utf-8";
  static final String KV_PREFIX = "/v1/kv";
  static final String TXN_PATH = "/v1/txn";
  /** The {@link RequestId} ({@code agent/seq}) a forwarding client agent gave a write. */
  public static final String REQUEST_ID_HEADER = "X-Conclave-Request-Id";

  private final Vertx vertx;
  private final KvBackend backend;
  private final KvWatches watches;
  private final RandomGenerator random;
  private final String agentId;
  /**
   * One request-id sequence per thread, each its own dedupe agent ({@code agentId.N}). A thread's
   * writes reach the Raft log in the order it numbered them (its hand-offs keep their order), so
   * each agent's sequence grows in log order. With one sequence shared by several HTTP loops, one
   * loop's burst could reach the log after another's with higher numbers, and with more of them in
   * flight than the dedupe window (128), fresh writes were refused as "older than the dedupe window".
   */
  private final AtomicInteger sequences = new AtomicInteger();
  private final ThreadLocal<long[]> seq = ThreadLocal.withInitial(() -> new long[] {sequences.getAndIncrement(), 0});
  private final ObjectMapper mapper = new ObjectMapper();
  private volatile RequestTimers timers;
  private final Handoff handoff = new Handoff();

  /**
   * @param agentId this daemon's id for exactly-once writes, unique per process lifetime
   *     (e.g. node name + a random boot nonce)
   */
  public KvHttp(Vertx vertx, KvBackend backend, String agentId, RandomGenerator random, int watchersMax) {
    this.vertx = vertx;
    this.backend = backend;
    this.random = random;
    this.agentId = agentId;
    this.watches = new KvWatches(vertx, watchersMax).attach(backend.local());
  }

  /** Open blocking queries (a gauge for metrics). */
  public int blockingQueriesOpen() {
    return watches.size();
  }

  /**
   * Exports {@code conclave.kv.blocking.queries} (open blocking queries) and
   * {@code conclave.kv.requests} (a timer per endpoint, method and status) to {@code registry}.
   */
  public KvHttp bindMetrics(MeterRegistry registry) {
    Gauge.builder("conclave.kv.blocking.queries", watches, KvWatches::size)
        .description("open KV blocking queries").register(registry);
    KvStateMachine store = backend.local();
    Gauge.builder("conclave.kv.store.bytes", store, KvStateMachine::storeBytes)
        .description("what the store's quota counts: keys, values and 128 bytes per key").register(registry);
    Gauge.builder("conclave.kv.store.bytes.max", store, KvStateMachine::storeBytesMax)
        .description("the store's quota: writes that would grow it past this are refused").register(registry);
    this.timers = new RequestTimers(registry, "conclave.kv.requests", "KV API requests by endpoint, method and status");
    return this;
  }

  private void timeRequest(RoutingContext ctx, String endpoint) {
    RequestTimers t = timers;
    if (t != null) {
      long start = System.nanoTime();
      ctx.addEndHandler(v -> t.record(endpoint, ctx.request().method().name(), ctx.response().getStatusCode(),
          System.nanoTime() - start));
    }
    ctx.next();
  }

  public void mount(Router router) {
    for (String path : List.of(KV_PREFIX, KV_PREFIX + "/*")) {
      router.route(path).handler(ctx -> timeRequest(ctx, "kv"));
      router.route(path).handler(ctx -> rawBody(ctx, VALUE_BYTES_MAX));
      router.route(path).handler(BodyHandler.create(false).setBodyLimit(VALUE_BYTES_MAX).setPreallocateBodyBuffer(true));
      router.route(path).failureHandler(ctx -> failure(ctx, VALUE_BYTES_MAX));
      router.get(path).handler(this::get);
      router.put(path).handler(this::put);
      router.delete(path).handler(this::delete);
    }
    router.route("/v1/txn").handler(ctx -> timeRequest(ctx, "txn"));
    router.route("/v1/txn").handler(ctx -> rawBody(ctx, TXN_BODY_BYTES_MAX));
    router.route("/v1/txn").handler(BodyHandler.create(false).setBodyLimit(TXN_BODY_BYTES_MAX).setPreallocateBodyBuffer(true));
    router.route("/v1/txn").failureHandler(ctx -> failure(ctx, TXN_BODY_BYTES_MAX));
    router.put("/v1/txn").handler(this::txn);
  }

  // ------------------------------------------------------------------ GET

  private void get(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    Optional<String> key = key(ctx);
    if (key.isEmpty()) {
      return;
    }
    boolean recurse = params.contains("recurse");
    boolean keys = params.contains("keys");
    boolean raw = params.contains("raw");
    if (key.get().isEmpty() && !recurse && !keys) {
      text(ctx, 400, "Missing key name");
      return;
    }
    Optional<Consistency> consistency = consistency(ctx);
    Optional<Long> minIndex = unsigned(ctx, "index", "Invalid index");
    Optional<Long> waitMs;
    synchronized (random) { // requests arrive on several event loops; the generator is not thread-safe
      waitMs = BlockingWait.resolveMs(params.get("wait"), random);
    }
    if (consistency.isEmpty() || minIndex.isEmpty()) {
      return;
    }
    if (waitMs.isEmpty()) {
      text(ctx, 400, "Invalid wait time");
      return;
    }
    String k = key.get();
    String separator = Optional.ofNullable(params.get("separator")).orElse(Optional.ofNullable(params.get("seperator")).orElse(""));
    KvStateMachine store = backend.local();
    Query query;
    if (keys) {
      query = new Query(k, true, () -> {
        KvStateMachine.KeysRead r = store.keys(k, separator);
        return new Reply(r.index(), () -> r.keys().isEmpty() && !k.isEmpty() ? notFound(ctx, r.index()) : sendJson(ctx, r.index(), KvJson.strings(r.keys())));
      }, () -> store.prefixIndex(k));
    } else if (recurse) {
      query = new Query(k, true, () -> {
        KvStateMachine.ListRead r = store.list(k);
        return new Reply(r.index(), () -> r.entries().isEmpty() ? notFound(ctx, r.index()) : sendJson(ctx, r.index(), KvJson.entries(r.entries())));
      }, () -> store.prefixIndex(k));
    } else {
      query = new Query(k, false, () -> {
        KvStateMachine.KeyRead r = store.get(k);
        return new Reply(r.index(), () -> {
          if (r.entry().isEmpty()) {
            return notFound(ctx, r.index());
          }
          return raw ? sendRaw(ctx, r.index(), r.entry().get().value()) : sendJson(ctx, r.index(), KvJson.entries(List.of(r.entry().get())));
        });
      }, () -> store.get(k).index());
    }
    long deadlineNanos = System.nanoTime() + waitMs.get() * 1_000_000L;
    onRequestContext(backend.readBarrier(consistency.get()))
        .onSuccess(v -> answer(ctx, query, minIndex.get(), deadlineNanos, consistency.get(), true))
        .onFailure(e -> fail(ctx, e));
  }

  private record Reply(long index, Supplier<Void> send) {}

  private record Query(String key, boolean prefix, Supplier<Reply> run, LongSupplier currentIndex) {}

  /** Consul's blocking loop: answer if not blocking or the index moved; else wait for a change or the deadline. */
  private void answer(RoutingContext ctx, Query query, long minIndex, long deadlineNanos, Consistency c, boolean mayWait) {
    if (ctx.response().closed()) {
      return;
    }
    Reply reply = query.run().get();
    long remainingMs = (deadlineNanos - System.nanoTime()) / 1_000_000L;
    if (minIndex == 0 || reply.index() > minIndex || !mayWait || remainingMs <= 0) {
      meta(ctx, reply.index(), c);
      reply.send().get();
      return;
    }
    KvWatches.Watch watch = watches.watch(minIndex, query.key(), query.prefix(), remainingMs, query.currentIndex());
    // a client that hangs up frees its slot now, not at the end of its wait
    ctx.response().closeHandler(v -> watch.cancel());
    watch.future()
        .onSuccess(changed -> answer(ctx, query, minIndex, deadlineNanos, c, changed))
        .onFailure(e -> fail(ctx, e));
  }

  private Void notFound(RoutingContext ctx, long index) {
    ctx.response().setStatusCode(404).end();
    return null;
  }

  private Void sendJson(RoutingContext ctx, long index, byte[] body) {
    ctx.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, JSON_VALUE).end(Buffer.buffer(body));
    return null;
  }

  private Void sendRaw(RoutingContext ctx, long index, byte[] value) {
    ctx.response().setStatusCode(200)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Content-Security-Policy", "sandbox")
        .end(Buffer.buffer(value));
    return null;
  }

  // ------------------------------------------------------------------ PUT / DELETE

  private void put(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    Optional<String> key = key(ctx);
    if (key.isEmpty()) {
      return;
    }
    if (key.get().isEmpty()) {
      text(ctx, 400, "Missing key name");
      return;
    }
    boolean cas = params.contains("cas");
    if (params.contains("acquire") || params.contains("release")) {
      text(ctx, 400, cas ? "Conflicting flags: cas, acquire and release are mutually exclusive"
          : "Session locks (acquire, release) are not supported");
      return;
    }
    Optional<Long> flags = unsigned(ctx, "flags", "Invalid flags");
    Optional<Long> casIndex = unsigned(ctx, "cas", "Invalid cas index");
    if (flags.isEmpty() || casIndex.isEmpty()) {
      return;
    }
    Buffer body = ctx.body().buffer();
    byte[] value = body == null ? new byte[0] : body.getBytes();
    if (value.length > VALUE_BYTES_MAX) {
      tooLarge(ctx, value.length, VALUE_BYTES_MAX);
      return;
    }
    KvCommand command = cas
        ? new KvCommand.Cas(key.get(), value, flags.get(), casIndex.get())
        : new KvCommand.Set(key.get(), value, flags.get());
    writeBool(ctx, command);
  }

  private void delete(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    Optional<String> key = key(ctx);
    if (key.isEmpty()) {
      return;
    }
    boolean recurse = params.contains("recurse");
    boolean cas = params.contains("cas");
    if (recurse && cas) {
      text(ctx, 400, "Conflicting flags: cas and recurse are mutually exclusive");
      return;
    }
    if (key.get().isEmpty() && !recurse) {
      text(ctx, 400, "Missing key name");
      return;
    }
    Optional<Long> casIndex = unsigned(ctx, "cas", "Invalid cas index");
    if (casIndex.isEmpty()) {
      return;
    }
    KvCommand command = recurse ? new KvCommand.DeleteTree(key.get())
        : cas ? new KvCommand.DeleteCas(key.get(), casIndex.get())
        : new KvCommand.Delete(key.get());
    writeBool(ctx, command);
  }

  private void writeBool(RoutingContext ctx, KvCommand command) {
    onRequestContext(backend.write(KvCodec.encode(KvRequest.of(requestId(ctx), command)))).onSuccess(result -> {
      if (result instanceof KvResult.Bool b) {
        meta(ctx, b.index(), null);
        sendJson(ctx, b.index(), KvJson.bool(b.ok()));
      } else {
        notApplied(ctx, result);
      }
    }).onFailure(e -> fail(ctx, e));
  }

  /**
   * The backend's future, completed on the context of the HTTP request: the Raft runtime completes
   * its futures on its own event loop, which must not render replies or run blocking-query loops.
   * The answers of one Raft apply loop go back to each HTTP loop in one batch ({@link Handoff}).
   */
  private <T> Future<T> onRequestContext(Future<T> f) {
    Context here = vertx.getOrCreateContext();
    Promise<T> p = Promise.promise();
    f.onComplete(ar -> handoff.run(here, () -> p.handle(ar)));
    return p.future();
  }

  RequestId nextRequestId() {
    long[] s = seq.get(); // {sequence number, last seq}
    return new RequestId(agentId + "." + s[0], ++s[1]);
  }

  /**
   * The id of a write: the one a forwarding client agent chose ({@link #REQUEST_ID_HEADER} on a
   * request that carries {@link Forwarder#HOPS_HEADER}), so its retries through another server
   * apply once; otherwise a new one of this agent. A malformed header is ignored.
   */
  RequestId requestId(RoutingContext ctx) {
    String forwarded = ctx.request().getHeader(Forwarder.HOPS_HEADER);
    String id = ctx.request().getHeader(REQUEST_ID_HEADER);
    if (forwarded != null && id != null) {
      Optional<RequestId> parsed = parseRequestId(id);
      if (parsed.isPresent()) {
        return parsed.get();
      }
      LOG.debug("bad forwarded request id ignored from={} id=\"{}\"", forwarded, id);
    }
    return nextRequestId();
  }

  /** {@code agent/seq}; the agent may itself contain '/'. */
  static Optional<RequestId> parseRequestId(String text) {
    int slash = text.lastIndexOf('/');
    if (slash <= 0 || slash > 256) {
      return Optional.empty();
    }
    try {
      return Optional.of(new RequestId(text.substring(0, slash), Long.parseLong(text.substring(slash + 1))));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  // ------------------------------------------------------------------ txn

  private void txn(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      text(ctx, 400, "Failed to parse body: empty body");
      return;
    }
    JsonNode root;
    try {
      root = mapper.readTree(body.getBytes());
    } catch (Exception e) {
      text(ctx, 400, "Failed to parse body: " + firstLine(e.getMessage()));
      return;
    }
    if (root == null || !root.isArray()) {
      text(ctx, 400, "Failed to parse body: expected a JSON array of operations");
      return;
    }
    if (root.size() > KvCodec.TXN_OPS_MAX) {
      text(ctx, 413, "Transaction contains too many operations (" + root.size() + " > " + KvCodec.TXN_OPS_MAX + ")");
      return;
    }
    if (root.size() == 0) {
      text(ctx, 400, "Failed to parse body: a transaction needs at least one operation");
      return;
    }
    List<TxnOp> ops = new ArrayList<>(root.size());
    for (int i = 0; i < root.size(); i++) {
      TxnParse parsed = parseOp(root.get(i), i);
      if (parsed.error != null) {
        text(ctx, parsed.status, parsed.error);
        return;
      }
      ops.add(parsed.op);
    }
    boolean readOnly = ops.stream().noneMatch(op -> op.verb().isWrite());
    if (readOnly) {
      Optional<Consistency> consistency = consistency(ctx);
      if (consistency.isEmpty()) {
        return;
      }
      onRequestContext(backend.readBarrier(consistency.get())).onSuccess(v -> {
        KvResult.Txn result = backend.local().readTxn(ops);
        meta(ctx, result.index(), consistency.get());
        sendTxn(ctx, result);
      }).onFailure(e -> fail(ctx, e));
      return;
    }
    onRequestContext(backend.write(KvCodec.encode(KvRequest.of(requestId(ctx), new KvCommand.Txn(ops))))).onSuccess(result -> {
      if (result instanceof KvResult.Txn t) {
        meta(ctx, t.index(), null);
        sendTxn(ctx, t);
      } else {
        notApplied(ctx, result);
      }
    }).onFailure(e -> fail(ctx, e));
  }

  private void sendTxn(RoutingContext ctx, KvResult.Txn t) {
    ctx.response().setStatusCode(t.applied() ? 200 : 409).putHeader(HttpHeaders.CONTENT_TYPE, JSON_VALUE).end(Buffer.buffer(KvJson.txn(t)));
  }

  private static final class TxnParse {
    TxnOp op;
    String error;
    int status = 400;

    static TxnParse error(int status, String error) {
      TxnParse p = new TxnParse();
      p.status = status;
      p.error = error;
      return p;
    }
  }

  /** One {@code {"KV":{...}}}; field names case-insensitive as Go's JSON decoder. */
  private static TxnParse parseOp(JsonNode node, int i) {
    if (node == null || !node.isObject()) {
      return TxnParse.error(400, "Failed to parse body: operation " + i + " is not an object");
    }
    JsonNode kv = field(node, "KV");
    if (kv == null || kv.isNull()) {
      return TxnParse.error(400, "Operation " + i + ": only KV operations are supported");
    }
    if (!kv.isObject()) {
      return TxnParse.error(400, "Failed to parse body: operation " + i + ": KV is not an object");
    }
    JsonNode verbNode = field(kv, "Verb");
    String verbName = verbNode == null ? "" : verbNode.asText();
    Optional<TxnOp.Verb> verb = TxnOp.Verb.parse(verbName);
    if (verb.isEmpty()) {
      boolean session = List.of("lock", "unlock", "check-session").contains(verbName.toLowerCase(java.util.Locale.ROOT));
      return TxnParse.error(400, "Operation " + i + ": " + (session ? "session verb \"" + verbName + "\" is not supported" : "unknown KV verb \"" + verbName + "\""));
    }
    JsonNode keyNode = field(kv, "Key");
    String key = keyNode == null || keyNode.isNull() ? "" : keyNode.asText();
    boolean tree = verb.get() == TxnOp.Verb.GET_TREE || verb.get() == TxnOp.Verb.DELETE_TREE;
    if (key.isEmpty() && !tree) {
      return TxnParse.error(400, "Operation " + i + ": missing key name");
    }
    String keyError = keyError(key);
    if (keyError != null) {
      return TxnParse.error(400, "Operation " + i + ": " + keyError);
    }
    byte[] value = null;
    JsonNode valueNode = field(kv, "Value");
    if (valueNode != null && !valueNode.isNull()) {
      try {
        value = Base64.getDecoder().decode(valueNode.asText());
      } catch (IllegalArgumentException e) {
        return TxnParse.error(400, "Failed to parse body: operation " + i + ": Value is not base64");
      }
      if (value.length > VALUE_BYTES_MAX) {
        return TxnParse.error(413, "Value for key \"" + key + "\" is too large (" + value.length + " > " + VALUE_BYTES_MAX + " bytes)");
      }
    }
    Optional<Long> flags = unsignedField(kv, "Flags");
    Optional<Long> index = unsignedField(kv, "Index");
    if (flags.isEmpty() || index.isEmpty()) {
      return TxnParse.error(400, "Failed to parse body: operation " + i + ": Flags and Index are unsigned integers");
    }
    TxnParse ok = new TxnParse();
    ok.op = new TxnOp(verb.get(), key, value, flags.get(), index.get());
    return ok;
  }

  private static JsonNode field(JsonNode object, String name) {
    JsonNode exact = object.get(name);
    if (exact != null) {
      return exact;
    }
    Iterator<Map.Entry<String, JsonNode>> it = object.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  private static Optional<Long> unsignedField(JsonNode object, String name) {
    JsonNode n = field(object, name);
    if (n == null || n.isNull()) {
      return Optional.of(0L);
    }
    if (!n.isIntegralNumber() || n.bigIntegerValue().signum() < 0 || n.bigIntegerValue().bitLength() > 64) {
      return Optional.empty();
    }
    return Optional.of(n.bigIntegerValue().longValue());
  }

  // ------------------------------------------------------------------ shared

  /** The percent-decoded key after {@code /v1/kv/}, or empty after sending a 400. */
  private Optional<String> key(RoutingContext ctx) {
    String path = ctx.request().path();
    String rawKey = path.length() <= KV_PREFIX.length() + 1 ? "" : path.substring(KV_PREFIX.length() + 1);
    Optional<String> decoded = percentDecode(rawKey);
    if (decoded.isEmpty()) {
      text(ctx, 400, "Invalid key: bad percent-encoding or not UTF-8");
      return Optional.empty();
    }
    String error = keyError(decoded.get());
    if (error != null) {
      text(ctx, 400, error);
      return Optional.empty();
    }
    return decoded;
  }

  /** SPEC's key rules (an empty key is left to each verb). */
  static String keyError(String key) {
    int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > KEY_BYTES_MAX) {
      return "Key too long (" + bytes + " > " + KEY_BYTES_MAX + " bytes)";
    }
    if (key.startsWith("/")) {
      return "Invalid key name, must not start with '/'";
    }
    return null;
  }

  /** RFC 3986 percent-decoding of a path segment ({@code +} stays a plus); empty for bad input. */
  static Optional<String> percentDecode(String s) {
    if (s.indexOf('%') < 0) {
      return Optional.of(s);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    byte[] in = s.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < in.length; i++) {
      if (in[i] == '%') {
        if (i + 2 >= in.length) {
          return Optional.empty();
        }
        int hi = Character.digit(in[i + 1], 16);
        int lo = Character.digit(in[i + 2], 16);
        if (hi < 0 || lo < 0) {
          return Optional.empty();
        }
        out.write(hi * 16 + lo);
        i += 2;
      } else {
        out.write(in[i]);
      }
    }
    try {
      return Optional.of(StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(out.toByteArray())).toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  /** Presence-only {@code ?stale} / {@code ?consistent}; both is a 400 as Consul. */
  private Optional<Consistency> consistency(RoutingContext ctx) {
    boolean stale = ctx.queryParams().contains("stale");
    boolean consistent = ctx.queryParams().contains("consistent");
    if (stale && consistent) {
      text(ctx, 400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
      return Optional.empty();
    }
    return Optional.of(stale ? Consistency.STALE : consistent ? Consistency.CONSISTENT : Consistency.DEFAULT);
  }

  /** An optional uint64 query parameter (absent or empty = 0), or empty after sending a 400. */
  private static Optional<Long> unsigned(RoutingContext ctx, String name, String message) {
    String value = ctx.queryParams().get(name);
    if (value == null || value.isEmpty()) {
      return Optional.of(0L);
    }
    try {
      return Optional.of(Long.parseUnsignedLong(value));
    } catch (NumberFormatException e) {
      text(ctx, 400, message + ": " + value);
      return Optional.empty();
    }
  }

  // Header names (and the two booleans) as pre-hashed ASCII strings: set on every KV answer.
  private static final CharSequence X_CONSUL_INDEX = HttpHeaders.createOptimized("X-Consul-Index");
  private static final CharSequence X_CONSUL_KNOWN_LEADER = HttpHeaders.createOptimized("X-Consul-KnownLeader");
  private static final CharSequence X_CONSUL_LAST_CONTACT = HttpHeaders.createOptimized("X-Consul-LastContact");
  private static final CharSequence X_CONSUL_EFFECTIVE_CONSISTENCY = HttpHeaders.createOptimized("X-Consul-Effective-Consistency");
  private static final CharSequence JSON_VALUE = HttpHeaders.createOptimized(JSON);
  private static final CharSequence TRUE = HttpHeaders.createOptimized("true");
  private static final CharSequence FALSE = HttpHeaders.createOptimized("false");

  private void meta(RoutingContext ctx, long index, Consistency c) {
    HttpServerResponse r = ctx.response();
    r.putHeader(X_CONSUL_INDEX, Long.toUnsignedString(Math.max(1, index)));
    r.putHeader(X_CONSUL_KNOWN_LEADER, backend.knownLeader() ? TRUE : FALSE);
    r.putHeader(X_CONSUL_LAST_CONTACT, Long.toString(Math.max(0, backend.lastContactMs())));
    if (c != null) {
      r.putHeader(X_CONSUL_EFFECTIVE_CONSISTENCY, c.effectiveName());
    }
  }

  /**
   * Before vertx-web's {@code BodyHandler}: refuses a declared length over {@code max} (413), and
   * drops the request's Content-Type, so the body is always the raw bytes. Consul ignores the type
   * of a KV or txn body, and {@code curl -X PUT --data-binary @file} (Consul's own examples) sends
   * {@code application/x-www-form-urlencoded}, which {@code BodyHandler} would decode as a form:
   * a value over the form field limit then failed with 500 and a logged stack trace.
   */
  static void rawBody(RoutingContext ctx, int max) {
    ctx.request().headers().remove(HttpHeaders.CONTENT_TYPE);
    String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null) {
      try {
        long n = Long.parseLong(length.trim());
        if (n > max) {
          tooLarge(ctx, n, max);
          return;
        }
      } catch (NumberFormatException e) {
        text(ctx, 400, "Invalid Content-Length");
        return;
      }
    }
    ctx.next();
  }

  static void tooLarge(RoutingContext ctx, long bytes, int max) {
    text(ctx, 413, "Request body(" + bytes + " bytes) too large, max size: " + max + " bytes");
  }

  private void failure(RoutingContext ctx, int bodyMax) {
    if (ctx.statusCode() == 413) {
      text(ctx, 413, "Request body too large, max size: " + bodyMax + " bytes");
      return;
    }
    if (ctx.failure() == null && ctx.statusCode() > 0) {
      text(ctx, ctx.statusCode(), "Bad request");
      return;
    }
    fail(ctx, ctx.failure());
  }

  private void notApplied(RoutingContext ctx, KvResult result) {
    String reason = result instanceof KvResult.Rejected r ? r.reason() : "unexpected result " + result;
    LOG.warn("kv write not applied reason=\"{}\"", reason);
    text(ctx, 500, "Request not applied: " + reason);
  }

  private void fail(RoutingContext ctx, Throwable e) {
    if (e instanceof ClusterControlException c) {
      int status;
      switch (c.kind()) {
        case NO_LEADER:
          status = 500;
          break;
        case REJECTED:
          status = 409;
          break;
        case UNAVAILABLE:
          status = 503;
          break;
        case TIMEOUT:
          status = 504;
          break;
        default:
          status = 400;
      }
      text(ctx, status, c.kind() == ClusterControlException.Kind.NO_LEADER ? "No cluster leader" : c.getMessage());
      return;
    }
    if (e instanceof KvWatches.TooManyWatchersException) {
      text(ctx, 429, e.getMessage());
      return;
    }
    LOG.error("kv request failed path={} method={}", ctx.request().path(), ctx.request().method(), e);
    text(ctx, 500, "Internal error: " + (e == null ? "unknown" : e.getClass().getSimpleName()));
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static void text(RoutingContext ctx, int status, String body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, TEXT).end(body);
  }
}
