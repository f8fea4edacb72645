package io.conclave.daemon.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.cluster.ClusterControl;
import io.conclave.daemon.cluster.ClusterControlException;
import io.conclave.daemon.cluster.ClusterSnapshot;
import io.conclave.daemon.cluster.ClusterView;
import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.cluster.RaftConfiguration;
import io.conclave.daemon.cluster.RaftServer;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.config.Version;
import io.conclave.daemon.metrics.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The non-KV endpoints of SPEC.md, in Consul's shapes. JSON replies carry
 * {@code Content-Type: application/json}; errors are plain text with a 4xx/5xx status.
 *
 * <p>Each handler takes one {@link ClusterSnapshot} from the {@link ClusterView} (never the cores
 * directly), or calls {@link ClusterControl}, and maps {@link ClusterControlException}s to status
 * codes. The KV endpoints mount on the same router later ({@link #router()}).
 */
public final class HttpApi {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);

  /** Bodies of the agent and operator endpoints (none needs one); bigger gets 413. */
  public static final long CONTROL_BODY_BYTES_MAX = 64 * 1024;

  static final String JSON = "application/json";
  static final String TEXT = "text/plain; charset=utf-8";

  /** Serf/Consul protocol fields of a member entry; conclave speaks one protocol today. */
  private static final int PROTOCOL_VERSION = 1;

  private final Router router;
  private final DaemonConfig config;
  private final ClusterView view;
  private final ClusterControl control;
  private final PrometheusMeterRegistry registry;
  private final InstantSource clock;
  private final HealthPolicy healthPolicy;
  private final ObjectMapper mapper = new ObjectMapper();

  public HttpApi(Vertx vertx, DaemonConfig config, ClusterView view, ClusterControl control,
      PrometheusMeterRegistry registry, InstantSource clock, HealthPolicy healthPolicy) {
    this.config = config;
    this.view = view;
    this.control = control;
    this.registry = registry;
    this.clock = clock;
    this.healthPolicy = healthPolicy;
    this.router = Router.router(vertx);
    routes();
  }

  /** The router to serve (and to mount further endpoints on). */
  public Router router() {
    return router;
  }

  private void routes() {
    RequestTimers timers = new RequestTimers(registry, "conclave.http.requests",
        "HTTP API requests other than KV (conclave.kv.requests), by endpoint, method and status");
    router.route().handler(ctx -> {
      String path;
      try {
        path = ctx.normalizedPath();
      } catch (IllegalArgumentException e) {
        // a malformed escape such as %zz: answered here, before any route tries to match the path
        text(ctx, 400, "Invalid URL escape in path: " + e.getMessage());
        return;
      }
      String endpoint = endpoint(path);
      if (endpoint != null) {
        long start = System.nanoTime();
        ctx.addEndHandler(v -> timers.record(endpoint, ctx.request().method().name(), ctx.response().getStatusCode(),
            System.nanoTime() - start));
      }
      ctx.next();
    });
    BodyHandler bodies = BodyHandler.create(false).setBodyLimit(CONTROL_BODY_BYTES_MAX);
    router.route("/v1/agent/*").handler(bodies);
    router.route("/v1/operator/*").handler(bodies);

    router.get("/v1/health").handler(this::health);
    router.get("/v1/status/leader").handler(ctx -> withSnapshot(ctx, s -> json(ctx, 200, s.raft().leaderAddress())));
    router.get("/v1/status/peers").handler(ctx -> withSnapshot(ctx, s ->
        json(ctx, 200, s.configuration().map(RaftConfiguration::voterAddresses).orElse(List.of()))));
    router.get("/v1/agent/members").handler(ctx -> withSnapshot(ctx, s ->
        json(ctx, 200, s.members().stream().map(HttpApi::memberJson).toList())));
    router.get("/v1/agent/self").handler(ctx -> withSnapshot(ctx, s -> json(ctx, 200, selfJson(s))));
    router.put("/v1/agent/leave").handler(this::leave);
    router.get("/v1/agent/metrics").handler(this::metrics);
    router.get("/v1/operator/raft/configuration").handler(this::raftConfiguration);
    router.post("/v1/operator/raft/transfer-leader").handler(this::transferLeader);
    router.delete("/v1/operator/raft/peer").handler(this::removePeer);

    router.errorHandler(404, ctx -> text(ctx, 404, "Not found: " + ctx.request().path()));
    router.errorHandler(405, ctx -> text(ctx, 405, "Method " + ctx.request().method() + " not allowed on " + ctx.request().path()));
    router.errorHandler(413, ctx -> text(ctx, 413, "Request body too large, max size: " + CONTROL_BODY_BYTES_MAX + " bytes"));
    router.errorHandler(500, this::failure);
  }

  /** The metrics label of a path: a known API group, "other" for the rest, null for KV (timed by KvHttp). */
  static String endpoint(String path) {
    if (path.equals("/v1/kv") || path.startsWith("/v1/kv/") || path.equals("/v1/txn")) {
      return null;
    }
    for (String group : ENDPOINT_GROUPS) {
      if (path.equals(group) || path.startsWith(group + "/")) {
        return group.substring("/v1/".length()).replace('/', '_');
      }
    }
    return "other";
  }

  private static final List<String> ENDPOINT_GROUPS = List.of("/v1/health", "/v1/status", "/v1/agent/metrics", "/v1/agent",
      "/v1/operator/raft", "/v1/internal/kv", "/v1/internal");

  private void health(RoutingContext ctx) {
    withSnapshot(ctx, s -> {
      Health.Report report = Health.evaluate(s, clock.instant(), healthPolicy);
      json(ctx, report.status().httpStatus(), report.body());
    });
  }

  private void leave(RoutingContext ctx) {
    LOG.info("leave requested via=http remote={}", ctx.request().remoteAddress());
    control.leave().onSuccess(v -> ctx.response().setStatusCode(200).end()).onFailure(ctx::fail);
  }

  private void metrics(RoutingContext ctx) {
    String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
    boolean prometheus = "prometheus".equals(ctx.queryParams().get("format"))
        || (accept != null && accept.contains("application/openmetrics-text"));
    if (prometheus) {
      ctx.response().setStatusCode(200)
          .putHeader(HttpHeaders.CONTENT_TYPE, Metrics.PROMETHEUS_CONTENT_TYPE)
          .end(registry.scrape());
    } else {
      json(ctx, 200, Metrics.consulJson(registry, clock.instant()));
    }
  }

  /** As Consul: without {@code ?stale} the answer needs a leader ("No cluster leader", 500). */
  private void raftConfiguration(RoutingContext ctx) {
    boolean stale = ctx.queryParams().contains("stale");
    withSnapshot(ctx, s -> {
      if (s.configuration().isEmpty() || (!stale && !s.raft().leaderKnown())) {
        text(ctx, 500, "No cluster leader");
        return;
      }
      RaftConfiguration configuration = s.configuration().get();
      List<Map<String, Object>> servers = configuration.servers().stream().map(HttpApi::serverJson).toList();
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("Servers", servers);
      body.put("Index", configuration.index());
      json(ctx, 200, body);
    });
  }

  private void transferLeader(RoutingContext ctx) {
    Optional<String> id = Optional.ofNullable(ctx.queryParams().get("id")).filter(s -> !s.isEmpty());
    controlFor(ctx).transferLeadership(id)
        .onSuccess(v -> json(ctx, 200, Map.of("Success", true)))
        .onFailure(ctx::fail);
  }

  /** {@code ?id=} names the server; {@code ?address=} (Consul's alternative) is mapped to its ID. */
  private void removePeer(RoutingContext ctx) {
    String id = ctx.queryParams().get("id");
    String address = ctx.queryParams().get("address");
    if ((id == null || id.isEmpty()) && (address == null || address.isEmpty())) {
      text(ctx, 400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
      return;
    }
    if (id != null && !id.isEmpty()) {
      controlFor(ctx).removePeer(id).onSuccess(v -> ctx.response().setStatusCode(200).end()).onFailure(ctx::fail);
      return;
    }
    withSnapshot(ctx, s -> {
      Optional<String> byAddress = s.configuration().stream()
          .flatMap(c -> c.servers().stream())
          .filter(server -> server.address().equals(address))
          .map(RaftServer::id)
          .findFirst();
      if (byAddress.isEmpty()) {
        text(ctx, 400, "address \"" + address + "\" was not found in the Raft configuration");
        return;
      }
      controlFor(ctx).removePeer(byAddress.get()).onSuccess(v -> ctx.response().setStatusCode(200).end()).onFailure(ctx::fail);
    });
  }

  /** A request another daemon forwarded is served here, never forwarded again. */
  private ClusterControl controlFor(RoutingContext ctx) {
    return ctx.request().getHeader(Forwarder.HOPS_HEADER) != null ? control.direct() : control;
  }

  private void withSnapshot(RoutingContext ctx, java.util.function.Consumer<ClusterSnapshot> answer) {
    view.snapshot().onSuccess(answer::accept).onFailure(ctx::fail);
  }

  static Map<String, Object> memberJson(Member member) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("Name", member.name());
    json.put("Addr", member.address());
    json.put("Port", member.gossipPort());
    json.put("Tags", member.tags());
    json.put("Status", member.state().consulStatus());
    json.put("State", member.state().stateName());
    json.put("Incarnation", member.incarnation());
    json.put("ProtocolMin", PROTOCOL_VERSION);
    json.put("ProtocolMax", PROTOCOL_VERSION);
    json.put("ProtocolCur", PROTOCOL_VERSION);
    json.put("DelegateMin", PROTOCOL_VERSION);
    json.put("DelegateMax", PROTOCOL_VERSION);
    json.put("DelegateCur", PROTOCOL_VERSION);
    return json;
  }

  private static Map<String, Object> serverJson(RaftServer server) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("ID", server.id());
    json.put("Node", server.node());
    json.put("Address", server.address());
    json.put("Leader", server.leader());
    json.put("Voter", server.voter());
    return json;
  }

  /** Consul's agent/self: Config (the stable part), DebugConfig (every setting, never the key), Member. */
  private Map<String, Object> selfJson(ClusterSnapshot snapshot) {
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("Datacenter", "dc1");
    cfg.put("NodeName", config.node());
    cfg.put("NodeID", config.node());
    cfg.put("Server", config.raftEnabled());
    cfg.put("Revision", "");
    cfg.put("Version", Version.current());
    Map<String, Object> debug = new LinkedHashMap<>();
    debug.put("node", config.node());
    debug.put("bind", config.bind());
    debug.put("advertise", config.advertise());
    debug.put("http_port", config.httpPort());
    debug.put("gossip_port", config.gossipPort());
    debug.put("raft_port", config.raftPort());
    debug.put("data_dir", config.dataDir().map(Object::toString).orElse(null));
    debug.put("server", config.server());
    debug.put("bootstrap_expect", config.bootstrapExpect().isPresent() ? config.bootstrapExpect().getAsInt() : null);
    debug.put("join", config.join().stream().map(Object::toString).toList());
    debug.put("encrypt", config.encrypt().isPresent());
    debug.put("dev", config.dev());
    debug.put("log_level", config.logLevel().flagValue());
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("Config", cfg);
    body.put("DebugConfig", debug);
    body.put("Coord", null);
    body.put("Member", memberJson(snapshot.self()));
    body.put("Meta", Map.of());
    return body;
  }

  private void failure(RoutingContext ctx) {
    Throwable cause = ctx.failure();
    if (cause instanceof ClusterControlException e) {
      int status = switch (e.kind()) {
        case NO_LEADER -> 500;
        case UNKNOWN_PEER -> 400;
        case REJECTED -> 409;
        case UNAVAILABLE -> 503;
        case TIMEOUT -> 504;
      };
      String message = e.kind() == ClusterControlException.Kind.NO_LEADER ? "No cluster leader" : e.getMessage();
      LOG.debug("request refused path={} kind={} reason=\"{}\"", ctx.request().path(), e.kind(), e.getMessage());
      text(ctx, status, message);
      return;
    }
    LOG.error("request failed path={} method={}", ctx.request().path(), ctx.request().method(), cause);
    text(ctx, 500, "Internal error: " + (cause == null ? "unknown" : cause.getClass().getSimpleName()));
  }

  private void json(RoutingContext ctx, int status, Object body) {
    String encoded;
    try {
      encoded = mapper.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      ctx.fail(e);
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(encoded);
  }

  private static void text(RoutingContext ctx, int status, String body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, TEXT).end(body);
  }
}
