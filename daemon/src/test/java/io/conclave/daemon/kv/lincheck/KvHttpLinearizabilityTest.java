package io.conclave.daemon.kv.lincheck;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conclave.daemon.kv.Consistency;
import io.conclave.daemon.kv.KvBackend;
import io.conclave.daemon.kv.KvHttp;
import io.conclave.daemon.kv.KvResult;
import io.conclave.daemon.kv.KvStateMachine;
import io.conclave.daemon.kv.LocalKvBackend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Concurrent HTTP clients doing read/write/cas on a few keys, the history checked per key. Against
 * the in-memory backend it must pass; against a backend that serves reads from a replica two writes
 * behind it must fail (the harness and checker can say no through the real HTTP path).
 */
class KvHttpLinearizabilityTest {
  static final int CLIENTS = 6;
  static final int OPS_PER_CLIENT = 50;
  static final String[] KEYS = {"k0", "k1", "k2"};

  final ObjectMapper mapper = new ObjectMapper();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final Vertx vertx = Vertx.vertx();
  int port;

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  void serve(KvBackend backend) {
    Router router = Router.router(vertx);
    new KvHttp(vertx, backend, "lin", new SplittableRandom(1), 100).mount(router);
    port = await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")).actualPort();
  }

  /** A value and its ModifyIndex, or absent (null value, index 0). */
  record Read(String value, long modifyIndex) {}

  HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
    return http.send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port + pathAndQuery);
  }

  Read get(String key) throws Exception {
    HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/v1/kv/" + key + "?consistent=")).GET());
    if (r.statusCode() == 404) {
      return new Read(null, 0);
    }
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode e = mapper.readTree(r.body()).get(0);
    return new Read(new String(Base64.getDecoder().decode(e.get("Value").asText()), StandardCharsets.UTF_8), e.get("ModifyIndex").asLong());
  }

  boolean put(String key, String value, String query) throws Exception {
    HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/v1/kv/" + key + query))
        .PUT(HttpRequest.BodyPublishers.ofString(value)));
    assertThat(r.statusCode()).isEqualTo(200);
    return Boolean.parseBoolean(new String(r.body(), StandardCharsets.UTF_8));
  }

  /**
   * One client: reads, blind writes and read-then-cas (by ModifyIndex; values are unique, so the
   * index names the value read and the cas is a compare-and-set on that value).
   */
  void client(int id, long seed, List<Operation> history) throws Exception {
    SplittableRandom r = new SplittableRandom(seed + id);
    for (int i = 0; i < OPS_PER_CLIENT; i++) {
      String key = KEYS[r.nextInt(KEYS.length)];
      String value = "c" + id + "-" + i;
      int kind = r.nextInt(3);
      long call = System.nanoTime();
      if (kind == 0) {
        Read read = get(key);
        history.add(Operation.read(id, key, read.value(), call, System.nanoTime()));
      } else if (kind == 1) {
        put(key, value, "");
        history.add(Operation.write(id, key, value, call, System.nanoTime()));
      } else {
        Read read = get(key);
        history.add(Operation.read(id, key, read.value(), call, System.nanoTime()));
        long casCall = System.nanoTime();
        boolean ok = put(key, value, "?cas=" + read.modifyIndex());
        history.add(Operation.cas(id, key, read.value(), value, ok, casCall, System.nanoTime()));
      }
    }
  }

  List<Operation> run(long seed) throws Exception {
    List<Operation> history = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    try {
      List<java.util.concurrent.Future<?>> done = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int id = c;
        done.add(pool.submit(() -> {
          client(id, seed, history);
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    // a last sequential write-write-read on one key: any stale read shows here
    for (int i = 0; i < 3; i++) {
      long call = System.nanoTime();
      put("k0", "final" + i, "");
      history.add(Operation.write(99, "k0", "final" + i, call, System.nanoTime()));
    }
    long call = System.nanoTime();
    Read last = get("k0");
    history.add(Operation.read(99, "k0", last.value(), call, System.nanoTime()));
    return history;
  }

  @Test
  void concurrentClientsOnTheInMemoryBackendAreLinearizable() throws Exception {
    long seed = Long.getLong("lincheck.seed", System.nanoTime());
    serve(new LocalKvBackend(new KvStateMachine()));
    List<Operation> history = run(seed);
    assertThat(history).hasSizeGreaterThan(CLIENTS * OPS_PER_CLIENT);
    LinearizabilityChecker.Result result = LinearizabilityChecker.check(history, new RegisterModel(), 5_000_000);
    assertThat(result.ok()).as("seed=%d %s", seed, result).isTrue();
  }

  /** Writes go to the leader's copy; reads are served from a replica that applies two entries late. */
  static final class LaggingReplicaBackend implements KvBackend {
    final LocalKvBackend leader = new LocalKvBackend(new KvStateMachine());
    final KvStateMachine replica = new KvStateMachine();
    final ArrayDeque<byte[]> behind = new ArrayDeque<>();
    long replicaIndex;

    @Override
    public synchronized Future<KvResult> write(byte[] command) {
      Future<KvResult> result = leader.write(command);
      behind.add(command);
      while (behind.size() > 2) {
        replica.apply(++replicaIndex, behind.poll());
      }
      return result;
    }

    @Override
    public Future<Void> readBarrier(Consistency c) {
      return Future.succeededFuture(); // the bug: no barrier
    }

    @Override
    public KvStateMachine local() {
      return replica;
    }

    @Override
    public boolean knownLeader() {
      return true;
    }

    @Override
    public long lastContactMs() {
      return 0;
    }
  }

  @Test
  void staleReadsThroughHttpAreCaught() throws Exception {
    long seed = Long.getLong("lincheck.seed", System.nanoTime());
    serve(new LaggingReplicaBackend());
    List<Operation> history = run(seed);
    LinearizabilityChecker.Result result = LinearizabilityChecker.check(history, new RegisterModel(), 5_000_000);
    assertThat(result.verdict()).as("seed=%d %s", seed, result).isEqualTo(LinearizabilityChecker.Verdict.NOT_LINEARIZABLE);
  }
}
