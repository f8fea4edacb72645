package io.conclave.bench;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Closed-loop KV load over HTTP/1.1 against conclave's Consul API and etcd's v3 JSON gateway, side
 * by side with the same client code, the same keys, values and concurrency. Run by
 * {@code bench/kv-vs-etcd.sh}, which starts both clusters; see docs/benchmarks.md.
 *
 * <p>Each phase (system, operation, N clients) opens exactly N fresh raw HTTP/1.1 keep-alive
 * connections (no pipelining), runs N clients that each send one request, wait for the answer and
 * send the next, first for a warm-up that is not counted, then for the measured window. A phase is
 * bounded in time ({@code --duration}) and in count ({@code --max-ops}); every request has a
 * timeout. Latency is measured per request from just before it is handed to the client to the end
 * of its response body, kept exactly (a sorted array, no histogram buckets). Throughput is the
 * requests answered in the window divided by the time from the window's start until the last
 * answer came in.
 *
 * <p>Operations: {@code put} (conclave {@code PUT /v1/kv/bench/<k>} with the raw value; etcd
 * {@code POST /v3/kv/put}), {@code get} (conclave's default consistency, which is linearizable and
 * may use the leader lease; etcd {@code POST /v3/kv/range}, linearizable by ReadIndex), and
 * {@code cget} (conclave {@code ?consistent}, ReadIndex without any clock assumption; etcd the same
 * range as {@code get}). Both clusters are driven on their leader: a follower of either would add a
 * forwarding hop. A failed request
 * (counted as an error, never as a latency) pauses its client for 20 ms and makes the load look for
 * the leader again, so a phase goes on against a new leader after an election, as a client library
 * would; the result line counts these leader moves.
 *
 * <p>With {@code --conclave-pids}/{@code --etcd-pids} the CPU time of the server processes during
 * each window is read from {@code /proc} and printed next to the client's own CPU time, since on
 * a small machine the client and all servers share the same cores.
 */
public final class KvLoad {
  private static final String USAGE = """
      usage: KvLoad [--conclave URL,URL,URL] [--conclave-b URL,URL,URL] [--etcd URL,URL,URL] [options]
        --conclave-b URLS    a second conclave cluster, reported as conclave-b (an A/B of two builds
                             or flag sets in one run: bench/kv-vs-etcd.sh with B_ROOT or B_JAVA_OPTS)
        --put-clients LIST   client counts for writes (default 1,16,64,256)
        --get-clients LIST   client counts for default linearizable reads (default 64)
        --cget-clients LIST  client counts for conclave ?consistent reads (default none)
        --duration S         measured seconds per phase (default 10)
        --warmup S           unmeasured seconds before each phase (default 2)
        --prewarm S          once, before all phases: S/2 seconds of writes and S/2 of reads at 64
                             clients on each system, unmeasured, so the JITs of the servers (and of
                             this client) reach steady state first (default 0)
        --max-ops N          at most N requests per measured phase (default 2000000)
        --keys N             size of the key space bench/k000000.. (default 1000)
        --value-bytes N      value size (default 256)
        --runs N             repeat every phase N times, report medians (default 1)
        --timeout-ms N       per-request timeout (default 10000)
        --seed N             key choice seed (default 1)
        --conclave-pids LIST, --conclave-b-pids LIST, --etcd-pids LIST   server process ids, for CPU accounting
        --json FILE          also write every phase's result as one JSON object per line
      """;

  /** One system under test. */
  private interface Target {
    String name();

    /** One asynchronous look at every server: the leader's URL, or a failure when none is known. */
    Future<String> findLeader(Http http);

    /** The URL to drive (the leader's), found again before every phase; waits up to about 10 s. */
    default String leader(Http http) throws IOException {
      for (int attempt = 0; attempt < 100; attempt++) {
        try {
          return findLeader(http).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
          sleep(100);
        }
      }
      throw new IOException("no " + name() + " server reports itself leader within 10 s");
    }

    /** The whole HTTP/1.1 request (line, headers, body) for {@code op} on {@code key}, sent to {@code base}. */
    Buffer request(String base, String op, int key);

    /** Whether the answer is a success for {@code op}. */
    boolean ok(String op, Http1Responses.Response response);

    List<Long> pids();
  }

  private final Map<String, String> args;
  private final Vertx vertx;
  private final Http http;
  private final String[] keys;
  private final byte[] value;
  private final int timeoutMs;
  private final long maxOps;
  private final double durationS;
  private final double warmupS;
  private final SplittableRandom random;

  private KvLoad(Map<String, String> args) {
    this.args = args;
    // one event loop: the load generator takes at most one core of the machine it shares
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    this.http = new Http(vertx);
    int keyCount = Integer.parseInt(args.getOrDefault("keys", "1000"));
    this.keys = new String[keyCount];
    for (int i = 0; i < keyCount; i++) {
      keys[i] = String.format(Locale.ROOT, "bench/k%06d", i);
    }
    int valueBytes = Integer.parseInt(args.getOrDefault("value-bytes", "256"));
    this.value = new byte[valueBytes];
    SplittableRandom v = new SplittableRandom(42);
    for (int i = 0; i < valueBytes; i++) {
      value[i] = (byte) ('a' + v.nextInt(26)); // printable, so both APIs carry the same bytes
    }
    this.timeoutMs = Integer.parseInt(args.getOrDefault("timeout-ms", "10000"));
    this.maxOps = Long.parseLong(args.getOrDefault("max-ops", "2000000"));
    this.durationS = Double.parseDouble(args.getOrDefault("duration", "10"));
    this.warmupS = Double.parseDouble(args.getOrDefault("warmup", "2"));
    this.random = new SplittableRandom(Long.parseLong(args.getOrDefault("seed", "1")));
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    if (args.containsKey("help") || (!args.containsKey("conclave") && !args.containsKey("etcd"))) {
      System.out.print(USAGE);
      System.exit(args.containsKey("help") ? 0 : 2);
    }
    KvLoad load = new KvLoad(args);
    int rc;
    try {
      rc = load.run();
    } finally {
      load.vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    System.exit(rc);
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + a + "\n" + USAGE);
      }
      String name = a.substring(2);
      if (name.equals("help")) {
        out.put(name, "");
      } else if (name.contains("=")) {
        out.put(name.substring(0, name.indexOf('=')), name.substring(name.indexOf('=') + 1));
      } else {
        if (i + 1 >= argv.length) {
          throw new IllegalArgumentException(a + " needs a value");
        }
        out.put(name, argv[++i]);
      }
    }
    return out;
  }

  private static List<String> list(String s) {
    if (s == null || s.isBlank() || s.equals("none")) {
      return List.of();
    }
    return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
  }

  private static List<Long> longs(String s) {
    return list(s).stream().map(Long::parseLong).toList();
  }

  // ---------------------------------------------------------------------------------------------

  /** One measured phase's outcome. */
  record Result(String system, String base, String op, int clients, int run, long leaderMoves, long ops, long errors, double seconds,
      double opsPerS, double p50Ms, double p99Ms, double p999Ms, double maxMs, double clientCpu,
      double serverCpu, String load) {
    String line() {
      return String.format(Locale.ROOT,
          "run=%d system=%s op=%s clients=%d ops=%d errors=%d secs=%.2f ops_s=%.0f p50_ms=%.2f p99_ms=%.2f"
              + " p999_ms=%.2f max_ms=%.2f client_cpu=%.2f server_cpu=%.2f loadavg=\"%s\" server=%s leader_moves=%d",
          run, system, op, clients, ops, errors, seconds, opsPerS, p50Ms, p99Ms, p999Ms, maxMs, clientCpu,
          serverCpu, load, base, leaderMoves);
    }

    String json() {
      return new JsonObject().put("run", run).put("system", system).put("server", base).put("op", op).put("clients", clients)
          .put("leader_moves", leaderMoves).put("ops", ops).put("errors", errors).put("seconds", seconds).put("ops_per_s", opsPerS)
          .put("p50_ms", p50Ms).put("p99_ms", p99Ms).put("p999_ms", p999Ms).put("max_ms", maxMs)
          .put("client_cpu_cores", clientCpu).put("server_cpu_cores", serverCpu).put("loadavg", load).encode();
    }
  }

  private int run() throws Exception {
    List<Target> targets = new ArrayList<>();
    if (args.containsKey("conclave")) {
      targets.add(new Conclave("conclave", list(args.get("conclave")), longs(args.get("conclave-pids"))));
    }
    if (args.containsKey("conclave-b")) {
      if (args.containsKey("etcd")) {
        System.out.println("KvLoad: --conclave-b and --etcd together: the table compares two systems; drive one peer");
        return 2;
      }
      targets.add(new Conclave("conclave-b", list(args.get("conclave-b")), longs(args.get("conclave-b-pids"))));
    }
    if (args.containsKey("etcd")) {
      targets.add(new Etcd(list(args.get("etcd")), longs(args.get("etcd-pids"))));
    }
    Map<String, List<Integer>> plan = new LinkedHashMap<>();
    plan.put("put", list(args.getOrDefault("put-clients", "1,16,64,256")).stream().map(Integer::parseInt).toList());
    plan.put("get", list(args.getOrDefault("get-clients", "64")).stream().map(Integer::parseInt).toList());
    plan.put("cget", list(args.getOrDefault("cget-clients", "none")).stream().map(Integer::parseInt).toList());
    int runs = Integer.parseInt(args.getOrDefault("runs", "1"));
    Path json = args.containsKey("json") ? Path.of(args.get("json")) : null;

    System.out.printf(Locale.ROOT, "kvload keys=%d value_bytes=%d duration_s=%.1f warmup_s=%.1f max_ops=%d runs=%d cpus=%d%n",
        keys.length, value.length, durationS, warmupS, maxOps, runs, Runtime.getRuntime().availableProcessors());
    for (Target t : targets) {
      // a leader change right after start (a split first election) fails a fill: find it again, 3 tries
      for (int attempt = 1; ; attempt++) {
        String leader = t.leader(http);
        long t0 = System.nanoTime();
        Result fill = fill(t, leader);
        System.out.printf(Locale.ROOT, "filled system=%s leader=%s keys=%d errors=%d in %.1f s%n", t.name(), leader,
            keys.length, fill.errors(), (System.nanoTime() - t0) / 1e9);
        if (fill.errors() == 0) {
          break;
        }
        if (attempt == 3) {
          System.out.println("fill failed 3 times for " + t.name() + ": is the cluster healthy?");
          return 1;
        }
        sleep(1000);
      }
    }
    double prewarmS = Double.parseDouble(args.getOrDefault("prewarm", "0"));
    if (prewarmS > 0) {
      for (Target t : targets) {
        long t0 = System.nanoTime();
        long half = (long) (prewarmS / 2 * 1e9);
        Result w = drive(t, t.leader(http), "put", 64, half, maxOps, this::randomKey, 0);
        Result r = drive(t, t.leader(http), "get", 64, half, maxOps, this::randomKey, 0);
        System.out.printf(Locale.ROOT, "prewarmed system=%s puts=%d gets=%d errors=%d in %.1f s%n", t.name(), w.ops(), r.ops(),
            w.errors() + r.errors(), (System.nanoTime() - t0) / 1e9);
      }
    }
    List<Result> all = new ArrayList<>();
    int cell = 0;
    for (int r = 1; r <= runs; r++) {
      for (Map.Entry<String, List<Integer>> e : plan.entrySet()) {
        for (int clients : e.getValue()) {
          // alternate which system goes first, so neither always runs right after the other's load
          List<Target> order = new ArrayList<>(targets);
          if ((cell++ + r) % 2 == 1) {
            java.util.Collections.reverse(order);
          }
          for (Target t : order) {
            String leader = t.leader(http);
            Result res = phase(t, leader, e.getKey(), clients, r);
            all.add(res);
            System.out.println(res.line());
            if (json != null) {
              Files.writeString(json, res.json() + "\n", StandardCharsets.UTF_8,
                  java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            }
          }
        }
      }
    }
    System.out.println();
    System.out.print(table(all, targets, plan));
    return 0;
  }

  /** How long a client waits after an error before its next request. */
  private static final long ERROR_PAUSE_MS = 20;

  private static final long FILL_NANOS_MAX = TimeUnit.SECONDS.toNanos(120);

  /** Writes every key once (N=64 at most), not reported: reads then always find their key. */
  private Result fill(Target t, String base) throws Exception {
    int[] next = {0};
    return drive(t, base, "put", Math.min(64, keys.length), FILL_NANOS_MAX, keys.length, () -> next[0]++, 0);
  }

  private Result phase(Target t, String base, String op, int clients, int run) throws Exception {
    if (warmupS > 0) {
      drive(t, base, op, clients, (long) (warmupS * 1e9), maxOps, this::randomKey, run);
    }
    return drive(t, base, op, clients, (long) (durationS * 1e9), maxOps, this::randomKey, run);
  }

  private int randomKey() {
    return random.nextInt(keys.length);
  }

  /**
   * Runs {@code clients} closed loops on the client's one event loop until {@code windowNanos} passed
   * or {@code opsMax} requests were sent, then waits for the ones in flight.
   */
  private Result drive(Target t, String base, String op, int clients, long windowNanos, long opsMax,
      java.util.function.IntSupplier nextKey, int run) throws Exception {
    NetClient net = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true).setConnectTimeout(timeoutMs));
    int capacity = (int) Math.min(opsMax, 20_000_000L);
    long[] latencies = new long[capacity];
    Context ctx = vertx.getOrCreateContext();
    CompletableFuture<long[]> done = new CompletableFuture<>(); // {ops, errors, endNanos}
    long[] state = new long[7]; // sent, answered, errors, inflight, lastAnswerNanos, leader moves, resolving
    String[] current = {base}; // the leader being driven; moves when errors show it lost leadership
    List<Loop> loops = new ArrayList<>();
    long cpu0 = processCpuNanos();
    long server0 = serverCpuTicks(t.pids());
    long start = System.nanoTime();
    long deadline = start + windowNanos;
    long[] watchdog = {-1};
    ctx.runOnContext(v -> {
      state[3] = clients;
      state[4] = start;
      for (int i = 0; i < clients; i++) {
        loops.add(new Loop(net, t, current, op, nextKey, deadline, opsMax, latencies, state, done));
      }
      // one timer for every request's timeout, rather than one timer per request
      watchdog[0] = vertx.setPeriodic(100, id -> {
        long now = System.nanoTime();
        for (Loop l : loops) {
          l.checkTimeout(now);
        }
      });
      for (Loop l : loops) {
        l.next();
      }
    });
    long[] outcome = done.get(windowNanos / 1_000_000_000L + timeoutMs / 1000 + 60, TimeUnit.SECONDS);
    long moves = state[5];
    long end = outcome[2];
    double cpu = (processCpuNanos() - cpu0) / 1e9;
    double server = (serverCpuTicks(t.pids()) - server0) / 100.0; // USER_HZ is 100 on Linux
    CompletableFuture<Void> closed = new CompletableFuture<>();
    ctx.runOnContext(v -> {
      vertx.cancelTimer(watchdog[0]);
      loops.forEach(Loop::close);
      closed.complete(null);
    });
    closed.get(10, TimeUnit.SECONDS);
    net.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    double secs = (end - start) / 1e9;
    int n = (int) Math.min(outcome[0], capacity);
    long[] sorted = Arrays.copyOf(latencies, n);
    Arrays.sort(sorted);
    return new Result(t.name(), current[0], op, clients, run, moves, outcome[0], outcome[1], secs, outcome[0] / secs,
        percentile(sorted, 0.50), percentile(sorted, 0.99), percentile(sorted, 0.999),
        n == 0 ? 0 : sorted[n - 1] / 1e6, cpu / secs, server / secs, loadAverage());
  }

  /**
   * One closed-loop client with its own keep-alive connection: writes a prepared request, parses
   * the response as it arrives ({@link Http1Responses}), sends the next. Runs on the event loop only,
   * so the shared counters need no locks. The connection is opened on first use, again after the
   * server closed it or after an error, and moves with the leader.
   */
  private final class Loop {
    private final NetClient net;
    private final Target t;
    private final String[] current;
    private final String op;
    private final java.util.function.IntSupplier nextKey;
    private final long deadline;
    private final long opsMax;
    private final long[] latencies;
    private final long[] state;
    private final CompletableFuture<long[]> done;
    private NetSocket socket;
    private String socketBase;
    private Http1Responses parser;
    private long sentAt = -1; // the request in flight, -1 when none
    private String inFlightBase;
    private boolean closed;

    Loop(NetClient net, Target t, String[] current, String op, java.util.function.IntSupplier nextKey,
        long deadline, long opsMax, long[] latencies, long[] state, CompletableFuture<long[]> done) {
      this.net = net;
      this.t = t;
      this.current = current;
      this.op = op;
      this.nextKey = nextKey;
      this.deadline = deadline;
      this.opsMax = opsMax;
      this.latencies = latencies;
      this.state = state;
      this.done = done;
    }

    void next() {
      if (state[0] >= opsMax || System.nanoTime() >= deadline) {
        if (--state[3] == 0) {
          done.complete(new long[] {state[1], state[2], state[4]});
        }
        return;
      }
      state[0]++;
      String base = current[0];
      Buffer request = t.request(base, op, nextKey.getAsInt());
      inFlightBase = base;
      sentAt = System.nanoTime();
      if (socket != null && base.equals(socketBase)) {
        socket.write(request);
        return;
      }
      dropSocket();
      URI u = URI.create(base);
      long attempt = sentAt;
      net.connect(u.getPort(), u.getHost()).onComplete(ar -> {
        if (sentAt != attempt) { // timed out meanwhile
          if (ar.succeeded()) {
            ar.result().close();
          }
          return;
        }
        if (ar.failed()) {
          failed(ar.cause().toString());
          return;
        }
        NetSocket s = ar.result();
        if (closed) {
          s.close();
          return;
        }
        socket = s;
        socketBase = base;
        parser = new Http1Responses();
        s.handler(b -> received(s, b));
        s.closeHandler(v -> {
          if (socket == s) {
            socket = null;
            if (sentAt >= 0) {
              failed("connection closed by " + base);
            }
          }
        });
        s.exceptionHandler(e -> {
          if (socket == s) {
            dropSocket();
            if (sentAt >= 0) {
              failed(e.toString());
            }
          }
        });
        s.write(request);
      });
    }

    private void received(NetSocket s, Buffer b) {
      if (socket != s) {
        return;
      }
      parser.feed(b.getBytes());
      Http1Responses.Response resp;
      try {
        resp = parser.next();
      } catch (Http1Responses.MalformedResponse e) {
        dropSocket();
        failed(e.getMessage());
        return;
      }
      if (resp == null) {
        return;
      }
      if (sentAt < 0 || parser.buffered() > 0) {
        dropSocket();
        failed("unexpected bytes from " + socketBase + " (status " + resp.status() + ")");
        return;
      }
      if (resp.close()) {
        dropSocket();
      }
      long now = System.nanoTime();
      long t0 = sentAt;
      sentAt = -1;
      state[4] = now;
      if (!t.ok(op, resp)) {
        error(resp.status() + " " + new String(resp.body(), StandardCharsets.UTF_8).trim());
        return;
      }
      long i = state[1]++;
      if (i < latencies.length) {
        latencies[(int) i] = now - t0;
      }
      next();
    }

    void checkTimeout(long now) {
      if (sentAt >= 0 && now - sentAt > TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
        dropSocket();
        failed("no answer from " + inFlightBase + " within " + timeoutMs + " ms");
      }
    }

    private void failed(String why) {
      sentAt = -1;
      state[4] = System.nanoTime();
      error(why);
    }

    /**
     * An error (e.g. 503 from a server that lost leadership) pauses this client, so a failing
     * server does not turn the loop into a busy one, and makes the load look for the leader again
     * (one look at a time), as a client library would; errors are counted and the first reported.
     */
    private void error(String why) {
      state[2]++;
      if (state[2] <= 3) {
        System.out.println("error system=" + t.name() + " op=" + op + " base=" + inFlightBase + ": "
            + why.substring(0, Math.min(160, why.length())));
      }
      if (state[6] == 0) {
        state[6] = 1;
        t.findLeader(http).onComplete(found -> {
          state[6] = 0;
          if (found.succeeded() && !found.result().equals(current[0])) {
            System.out.println("leader moved system=" + t.name() + " from=" + current[0] + " to=" + found.result());
            current[0] = found.result();
            state[5]++;
          }
        });
      }
      vertx.setTimer(ERROR_PAUSE_MS, id -> next());
    }

    private void dropSocket() {
      NetSocket s = socket;
      socket = null;
      socketBase = null;
      if (s != null) {
        s.close();
      }
    }

    void close() {
      closed = true;
      dropSocket();
    }
  }

  private static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }

  private static long processCpuNanos() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return 0;
  }

  /** utime + stime of the given processes, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
  private static long serverCpuTicks(List<Long> pids) {
    long sum = 0;
    for (long pid : pids) {
      try {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        sum += Long.parseLong(f[11]) + Long.parseLong(f[12]);
      } catch (IOException | RuntimeException e) {
        // the process is gone; its CPU is simply not counted
      }
    }
    return sum;
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Report

  /** Medians over runs of every figure, one row per operation and client count, with ratios. */
  static String table(List<Result> all, List<Target> targets, Map<String, List<Integer>> plan) {
    StringBuilder sb = new StringBuilder();
    boolean both = targets.size() == 2;
    String a = targets.get(0).name();
    String b = both ? targets.get(1).name() : "";
    sb.append("| op | clients | ").append(a).append(" ops/s | p50 ms | p99 ms | p99.9 ms |");
    if (both) {
      sb.append(' ').append(b).append(" ops/s | p50 ms | p99 ms | p99.9 ms | ops/s ratio ").append(a).append('/').append(b)
          .append(" | p99 ratio ").append(a).append('/').append(b).append(" |");
    }
    sb.append('\n').append("|---|---:|---:|---:|---:|---:|");
    if (both) {
      sb.append("---:|---:|---:|---:|---:|---:|");
    }
    sb.append('\n');
    for (Map.Entry<String, List<Integer>> e : plan.entrySet()) {
      for (int clients : e.getValue()) {
        Result ra = median(all, a, e.getKey(), clients);
        sb.append("| ").append(e.getKey()).append(" | ").append(clients).append(" | ").append(cells(ra));
        if (both) {
          Result rb = median(all, b, e.getKey(), clients);
          sb.append(' ').append(cells(rb)).append(String.format(Locale.ROOT, " %.2f | %.2f |",
              ra.opsPerS() / rb.opsPerS(), ra.p99Ms() / rb.p99Ms()));
        }
        sb.append('\n');
      }
    }
    return sb.toString();
  }

  private static String cells(Result r) {
    String notes = (r.errors() > 0 ? r.errors() + " errors" : "")
        + (r.leaderMoves() > 0 ? (r.errors() > 0 ? ", " : "") + r.leaderMoves() + " leader moves" : "");
    return String.format(Locale.ROOT, "%,.0f%s | %.1f | %.1f | %.1f |", r.opsPerS(),
        notes.isEmpty() ? "" : " (" + notes + " in all runs)", r.p50Ms(), r.p99Ms(), r.p999Ms());
  }

  /**
   * The run with the median throughput (the lower middle one for an even count), reported whole, so
   * a row's latencies come from one run; errors and leader moves are summed over all runs.
   */
  private static Result median(List<Result> all, String system, String op, int clients) {
    List<Result> rs = all.stream().filter(r -> r.system().equals(system) && r.op().equals(op) && r.clients() == clients)
        .sorted(java.util.Comparator.comparingDouble(Result::opsPerS)).toList();
    Result m = rs.get((rs.size() - 1) / 2);
    long errors = rs.stream().mapToLong(Result::errors).sum();
    long moves = rs.stream().mapToLong(Result::leaderMoves).sum();
    return new Result(system, m.base(), op, clients, m.run(), moves, m.ops(), errors, m.seconds(), m.opsPerS(),
        m.p50Ms(), m.p99Ms(), m.p999Ms(), m.maxMs(), m.clientCpu(), m.serverCpu(), m.load());
  }

  // ---------------------------------------------------------------------------------------------
  // The two systems

  /** Blocking helper for the few control requests (leader discovery); never on the event loop. */
  static final class Http {
    private final HttpClientAgent client;

    Http(Vertx vertx) {
      this.client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(2000), new PoolOptions().setHttp1MaxSize(4));
    }

    /** Status and body; null (not a failure) when unreachable. Never blocks. */
    Future<Map.Entry<Integer, String>> callAsync(HttpMethod method, String url, String body) {
      URI u = URI.create(url);
      RequestOptions ro = new RequestOptions().setMethod(method).setHost(u.getHost()).setPort(u.getPort())
          .setURI(u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery())).setIdleTimeout(2000);
      return client.request(ro)
          .compose(req -> (body == null ? req.send() : req.send(body)).compose(resp -> resp.body()
              .map(b -> Map.entry(resp.statusCode(), b.toString(StandardCharsets.UTF_8)))))
          .otherwise(e -> null);
    }

    /** Asks every URL at once; the first (in list order) for which {@code isLeader} holds. */
    Future<String> first(List<String> urls, Function<String, Future<Boolean>> isLeader) {
      List<Future<Boolean>> answers = urls.stream().map(u -> isLeader.apply(u).otherwise(false)).toList();
      return Future.all(answers).compose(all -> {
        for (int i = 0; i < urls.size(); i++) {
          if (Boolean.TRUE.equals(answers.get(i).result())) {
            return Future.succeededFuture(urls.get(i));
          }
        }
        return Future.failedFuture("no leader among " + urls);
      });
    }
  }

  /** The bytes of one HTTP/1.1 request to {@code base}: line, Host, Content-Length when there is a body. */
  static Buffer httpRequest(String method, String base, String uri, String contentType, byte[] body) {
    URI u = URI.create(base);
    StringBuilder head = new StringBuilder(128).append(method).append(' ').append(uri).append(" HTTP/1.1\r\n")
        .append("Host: ").append(u.getHost()).append(':').append(u.getPort()).append("\r\n");
    if (body != null) {
      if (contentType != null) {
        head.append("Content-Type: ").append(contentType).append("\r\n");
      }
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    head.append("\r\n");
    Buffer b = Buffer.buffer(head.toString().getBytes(StandardCharsets.US_ASCII));
    return body == null ? b : b.appendBytes(body);
  }

  /** Every key's request for one server and operation, built once (a phase sends them many times). */
  private final Map<String, Buffer[]> prepared = new java.util.HashMap<>();

  private Buffer prepared(String base, String op, int key, java.util.function.IntFunction<Buffer> build) {
    Buffer[] all = prepared.computeIfAbsent(base + " " + op, k -> new Buffer[keys.length]);
    Buffer b = all[key];
    if (b == null) {
      b = all[key] = build.apply(key);
    }
    return b;
  }

  private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] KVS = "\"kvs\"".getBytes(StandardCharsets.US_ASCII);

  /** conclave's Consul-compatible KV API, driven on the leader. */
  private final class Conclave implements Target {
    private final String name;
    private final List<String> urls;
    private final List<Long> pids;

    Conclave(String name, List<String> urls, List<Long> pids) {
      this.name = name;
      this.urls = urls;
      this.pids = pids;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<Long> pids() {
      return pids;
    }

    /** The server whose /v1/health passes and says role=leader. */
    @Override
    public Future<String> findLeader(Http http) {
      return http.first(urls, url -> http.callAsync(HttpMethod.GET, url + "/v1/health", null)
          .map(h -> h != null && h.getKey() == 200 && "leader".equals(new JsonObject(h.getValue()).getString("role"))));
    }

    @Override
    public Buffer request(String base, String op, int key) {
      return prepared(base, op, key, k -> switch (op) {
        case "put" -> httpRequest("PUT", base, "/v1/kv/" + keys[k], null, value);
        case "get" -> httpRequest("GET", base, "/v1/kv/" + keys[k], null, null);
        case "cget" -> httpRequest("GET", base, "/v1/kv/" + keys[k] + "?consistent", null, null);
        default -> throw new IllegalArgumentException("unknown op " + op);
      });
    }

    /** 200, and for a write the body {@code true} (Consul's answer to a PUT that applied). */
    @Override
    public boolean ok(String op, Http1Responses.Response r) {
      return r.status() == 200 && (!op.equals("put") || r.bodyEquals(TRUE));
    }
  }

  /** etcd's v3 gRPC JSON gateway, driven on the leader. */
  private final class Etcd implements Target {
    private final List<String> urls;
    private final List<Long> pids;
    private final byte[][] puts;
    private final byte[][] ranges;

    Etcd(List<String> urls, List<Long> pids) {
      this.urls = urls;
      this.pids = pids;
      Base64.Encoder b64 = Base64.getEncoder();
      String v = b64.encodeToString(value);
      puts = new byte[keys.length][];
      ranges = new byte[keys.length][];
      for (int i = 0; i < keys.length; i++) {
        String k = b64.encodeToString(keys[i].getBytes(StandardCharsets.UTF_8));
        puts[i] = ("{\"key\":\"" + k + "\",\"value\":\"" + v + "\"}").getBytes(StandardCharsets.US_ASCII);
        ranges[i] = ("{\"key\":\"" + k + "\"}").getBytes(StandardCharsets.US_ASCII);
      }
    }

    @Override
    public String name() {
      return "etcd";
    }

    @Override
    public List<Long> pids() {
      return pids;
    }

    /** The member whose own id is the leader id in {@code /v3/maintenance/status}. */
    @Override
    public Future<String> findLeader(Http http) {
      return http.first(urls, url -> http.callAsync(HttpMethod.POST, url + "/v3/maintenance/status", "{}").map(s -> {
        if (s == null || s.getKey() != 200) {
          return false;
        }
        JsonObject j = new JsonObject(s.getValue());
        String leader = j.getString("leader");
        return leader != null && leader.equals(j.getJsonObject("header", new JsonObject()).getString("member_id"));
      }));
    }

    @Override
    public Buffer request(String base, String op, int key) {
      return prepared(base, op, key, k -> switch (op) {
        case "put" -> httpRequest("POST", base, "/v3/kv/put", "application/json", puts[k]);
        case "get", "cget" -> httpRequest("POST", base, "/v3/kv/range", "application/json", ranges[k]);
        default -> throw new IllegalArgumentException("unknown op " + op);
      });
    }

    /** 200, and for a read a range that found the key (it carries {@code "kvs"}); a put answers its header. */
    @Override
    public boolean ok(String op, Http1Responses.Response r) {
      return r.status() == 200 && (op.equals("put") || r.bodyContains(KVS));
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
