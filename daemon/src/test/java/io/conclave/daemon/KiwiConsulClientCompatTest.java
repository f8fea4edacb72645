package io.conclave.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.runtime.Daemon;
import io.micrometer.core.instrument.Gauge;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kiwiproject.consul.Consul;
import org.kiwiproject.consul.ConsulException;
import org.kiwiproject.consul.KeyValueClient;
import org.kiwiproject.consul.async.ConsulResponseCallback;
import org.kiwiproject.consul.cache.KVCache;
import org.kiwiproject.consul.model.ConsulResponse;
import org.kiwiproject.consul.model.agent.Agent;
import org.kiwiproject.consul.model.agent.Member;
import org.kiwiproject.consul.model.kv.ImmutableOperation;
import org.kiwiproject.consul.model.kv.TxResponse;
import org.kiwiproject.consul.model.kv.Value;
import org.kiwiproject.consul.model.kv.Verb;
import org.kiwiproject.consul.model.operator.RaftConfiguration;
import org.kiwiproject.consul.model.operator.RaftServer;
import org.kiwiproject.consul.option.ConsistencyMode;
import org.kiwiproject.consul.option.ImmutableDeleteOptions;
import org.kiwiproject.consul.option.ImmutablePutOptions;
import org.kiwiproject.consul.option.ImmutableQueryOptions;
import org.kiwiproject.consul.option.Options;
import org.kiwiproject.consul.option.PutOptions;
import org.kiwiproject.consul.option.QueryOptions;

/**
 * Drives a real {@code --dev} daemon (as {@link Main} builds it) with the unmodified third-party
 * client {@code org.kiwiproject:consul-client}: every call a Consul user of that client makes for
 * the KV store, status and agent endpoints must work against conclave as against Consul.
 * Each test uses its own key prefix, so the order of the tests does not matter.
 */
class KiwiConsulClientCompatTest {
  private static Daemon daemon;
  private static Consul consul;
  private static KeyValueClient kv;

  @BeforeAll
  static void start() {
    var config = ((ConfigLoader.Run) new ConfigLoader(() -> "kiwi1").load(new String[] {"--dev", "--node", "kiwi1",
        "--bind", "127.0.0.1", "--http-port", "0", "--gossip-port", "0", "--raft-port", "0"})).config();
    daemon = Main.start(config);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    URI health = URI.create("http://127.0.0.1:" + daemon.httpPort() + "/v1/health");
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() ->
        http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    // withPing: the client's own start-up check (GET /v1/status/leader, needs a 2xx)
    consul = Consul.builder().withUrl("http://127.0.0.1:" + daemon.httpPort()).withPing(true).build();
    kv = consul.keyValueClient();
  }

  @AfterAll
  static void stop() {
    if (consul != null) {
      consul.destroy();
    }
    if (daemon != null) {
      daemon.stop(Daemon.STOP_PHASE_TIMEOUT);
    }
  }

  @Test
  void putAndGetStringWithFlags() {
    assertThat(kv.putValue("compat/str/greeting", "héllo wörld", 42L, StandardCharsets.UTF_8)).isTrue();

    Value v = kv.getValue("compat/str/greeting").orElseThrow();
    assertThat(v.getKey()).isEqualTo("compat/str/greeting");
    assertThat(v.getValueAsString(StandardCharsets.UTF_8)).contains("héllo wörld");
    assertThat(v.getFlags()).isEqualTo(42L);
    assertThat(v.getLockIndex()).isZero();
    assertThat(v.getSession()).isEmpty();
    assertThat(v.getCreateIndex()).isPositive();
    assertThat(v.getModifyIndex()).isEqualTo(v.getCreateIndex());
    assertThat(kv.getValueAsString("compat/str/greeting", StandardCharsets.UTF_8)).contains("héllo wörld");

    // an update keeps CreateIndex and moves ModifyIndex; the header index is the entry's ModifyIndex
    assertThat(kv.putValue("compat/str/greeting", "again", 0L, StandardCharsets.UTF_8)).isTrue();
    ConsulResponse<Value> r = kv.getConsulResponseWithValue("compat/str/greeting").orElseThrow();
    assertThat(r.getResponse().getCreateIndex()).isEqualTo(v.getCreateIndex());
    assertThat(r.getResponse().getModifyIndex()).isGreaterThan(v.getModifyIndex());
    assertThat(r.getResponse().getFlags()).isZero();
    assertThat(r.getIndex()).isEqualTo(BigInteger.valueOf(r.getResponse().getModifyIndex()));
    assertThat(r.isKnownLeader()).isTrue();
    assertThat(r.getLastContact()).isZero();

    // the flags are a uint64: the client sends Long.toUnsignedString and parses it back unsigned
    assertThat(kv.putValue("compat/str/maxflags", "x", -1L, StandardCharsets.UTF_8)).isTrue();
    assertThat(kv.getValue("compat/str/maxflags").orElseThrow().getFlags()).isEqualTo(-1L);
  }

  @Test
  void readsInEveryConsistencyMode() {
    assertThat(kv.putValue("compat/modes/k", "v")).isTrue();
    for (ConsistencyMode mode : List.of(ConsistencyMode.DEFAULT, ConsistencyMode.CONSISTENT, ConsistencyMode.STALE)) {
      QueryOptions options = ImmutableQueryOptions.builder().consistencyMode(mode).build();
      assertThat(kv.getValue("compat/modes/k", options).flatMap(Value::getValueAsString)).as(mode.toString()).contains("v");
    }
  }

  @Test
  void putAndGetBytesWithFlags() {
    byte[] bytes = {0, 1, 2, (byte) 0x7f, (byte) 0x80, (byte) 0xfe, (byte) 0xff, '\n'};
    assertThat(kv.putValue("compat/bin/blob", bytes, 7L, Options.BLANK_PUT_OPTIONS)).isTrue();
    Value v = kv.getValue("compat/bin/blob").orElseThrow();
    assertThat(v.getValueAsBytes()).hasValueSatisfying(b -> assertThat(b).containsExactly(bytes));
    assertThat(v.getFlags()).isEqualTo(7L);
  }

  @Test
  void valueSizeLimitIsConsuls() {
    byte[] max = new byte[512 * 1024];
    assertThat(kv.putValue("compat/size/max", max, 0L, Options.BLANK_PUT_OPTIONS)).isTrue();
    assertThat(kv.getValue("compat/size/max").flatMap(Value::getValueAsBytes).orElseThrow()).hasSize(max.length);
    assertThatThrownBy(() -> kv.putValue("compat/size/over", new byte[max.length + 1], 0L, Options.BLANK_PUT_OPTIONS))
        .isInstanceOfSatisfying(ConsulException.class, e -> assertThat(e.getCode()).isEqualTo(413));
    assertThat(kv.getValue("compat/size/over")).as("nothing written").isEmpty();
  }

  @Test
  void emptyAndNullValues() {
    // putValue(key) sends no body at all; Consul stores an empty value and answers "Value": null
    assertThat(kv.putValue("compat/empty/none")).isTrue();
    assertThat(kv.putValue("compat/empty/blank", "")).isTrue();
    for (String key : List.of("compat/empty/none", "compat/empty/blank")) {
      Value v = kv.getValue(key).orElseThrow();
      assertThat(v.getKey()).isEqualTo(key);
      assertThat(v.getValue()).as(key).isEmpty();
    }
  }

  @Test
  void missingKeysAreEmptyNotErrors() {
    assertThat(kv.getValue("compat/missing/nothing")).isEmpty();
    assertThat(kv.getConsulResponseWithValue("compat/missing/nothing")).isEmpty();
    assertThat(kv.getValueAsString("compat/missing/nothing")).isEmpty();
    assertThat(kv.getValues("compat/missing/")).isEmpty();
    assertThat(kv.getKeys("compat/missing/")).isEmpty();
    assertThat(kv.getKeys("compat/missing/", "/")).isEmpty();
  }

  @Test
  void keysWithCharactersRetrofitEscapes() {
    // Retrofit sends '/' as %2F, '%' as %25, a space as %20, '?' as %3F and '#' as %23 in the path
    List<String> keys = List.of("compat/esc/a b", "compat/esc/100%", "compat/esc/what?", "compat/esc/#tag",
        "compat/esc/ünïcødé", "compat/esc/plus+sign", "compat/esc/dir/", "compat/esc//double", "compat/esc/./dot",
        "compat/esc/../up", "compat/esc/semi;colon", "compat/esc/back\\slash");
    for (String key : keys) {
      assertThat(kv.putValue(key, key, 0L, StandardCharsets.UTF_8)).as(key).isTrue();
    }
    for (String key : keys) {
      assertThat(kv.getValueAsString(key, StandardCharsets.UTF_8)).as(key).contains(key);
    }
    assertThat(kv.getKeys("compat/esc/")).containsExactlyInAnyOrderElementsOf(keys);
    // the client trims one leading slash, as Consul's own clients do
    assertThat(kv.getValueAsString("/compat/esc/a b", StandardCharsets.UTF_8)).contains("compat/esc/a b");
  }

  @Test
  void recursiveListAndKeys() {
    for (String key : List.of("compat/tree/b", "compat/tree/a", "compat/tree/sub/c", "compat/tree/sub/deeper/d", "compat/treehouse")) {
      assertThat(kv.putValue(key, "v:" + key)).isTrue();
    }
    List<Value> values = kv.getValues("compat/tree/");
    assertThat(values).extracting(Value::getKey)
        .containsExactly("compat/tree/a", "compat/tree/b", "compat/tree/sub/c", "compat/tree/sub/deeper/d");
    assertThat(kv.getValuesAsString("compat/tree/", StandardCharsets.UTF_8))
        .containsExactly("v:compat/tree/a", "v:compat/tree/b", "v:compat/tree/sub/c", "v:compat/tree/sub/deeper/d");
    ConsulResponse<List<Value>> r = kv.getConsulResponseWithValues("compat/tree/");
    long maxModify = r.getResponse().stream().mapToLong(Value::getModifyIndex).max().orElseThrow();
    assertThat(r.getIndex()).isEqualTo(BigInteger.valueOf(maxModify));

    // a plain prefix, not a directory: compat/tree matches compat/treehouse too
    assertThat(kv.getKeys("compat/tree")).containsExactly(
        "compat/tree/a", "compat/tree/b", "compat/tree/sub/c", "compat/tree/sub/deeper/d", "compat/treehouse");
    assertThat(kv.getKeys("compat/tree/")).containsExactly(
        "compat/tree/a", "compat/tree/b", "compat/tree/sub/c", "compat/tree/sub/deeper/d");
    assertThat(kv.getKeys("compat/tree/", "/")).containsExactly("compat/tree/a", "compat/tree/b", "compat/tree/sub/");
    assertThat(kv.getKeys("compat/", "/")).contains("compat/tree/", "compat/treehouse");
    // the root: every key, through the path "kv/" with an empty key
    assertThat(kv.getKeys("")).contains("compat/tree/a", "compat/treehouse");
  }

  @Test
  void casPutSucceedsOnTheCurrentIndexOnly() {
    String key = "compat/cas/k";
    PutOptions absent = ImmutablePutOptions.builder().cas(0L).build();
    assertThat(kv.putValue(key, "v1", 0L, absent)).as("cas=0 on a missing key").isTrue();
    assertThat(kv.putValue(key, "v1b", 0L, absent)).as("cas=0 on an existing key").isFalse();
    long index = kv.getValue(key).orElseThrow().getModifyIndex();

    assertThat(kv.putValue(key, "v2", 5L, ImmutablePutOptions.builder().cas(index).build())).as("current index").isTrue();
    assertThat(kv.putValue(key, "v3", 0L, ImmutablePutOptions.builder().cas(index).build())).as("stale index").isFalse();
    Value v = kv.getValue(key).orElseThrow();
    assertThat(v.getValueAsString()).contains("v2");
    assertThat(v.getFlags()).isEqualTo(5L);
    assertThat(v.getModifyIndex()).isGreaterThan(index);

    assertThat(kv.putValue("compat/cas/missing", "x", 0L, ImmutablePutOptions.builder().cas(index).build()))
        .as("cas=N on a missing key").isFalse();
    assertThat(kv.getValue("compat/cas/missing")).isEmpty();
  }

  @Test
  void deleteOneKeyAPrefixAndWithCas() {
    for (String key : List.of("compat/del/one", "compat/del/dir/a", "compat/del/dir/b", "compat/del/dirty", "compat/del/cas")) {
      assertThat(kv.putValue(key, "x")).isTrue();
    }
    kv.deleteKey("compat/del/one");
    assertThat(kv.getValue("compat/del/one")).isEmpty();
    kv.deleteKey("compat/del/one"); // deleting a missing key is fine, as in Consul

    kv.deleteKeys("compat/del/dir/");
    assertThat(kv.getValues("compat/del/dir/")).isEmpty();
    assertThat(kv.getValue("compat/del/dirty")).as("a sibling outside the prefix").isPresent();

    long index = kv.getValue("compat/del/cas").orElseThrow().getModifyIndex();
    kv.deleteKey("compat/del/cas", ImmutableDeleteOptions.builder().cas(index + 1_000).build());
    assertThat(kv.getValue("compat/del/cas")).as("a stale cas deletes nothing").isPresent();
    kv.deleteKey("compat/del/cas", ImmutableDeleteOptions.builder().cas(index).build());
    assertThat(kv.getValue("compat/del/cas")).isEmpty();

    kv.deleteKeys("compat/del");
    assertThat(kv.getKeys("compat/del")).isEmpty();
  }

  @Test
  void blockingQueryIsWokenByAWriteFromAnotherThread() throws Exception {
    String key = "compat/watch/k";
    assertThat(kv.putValue(key, "before")).isTrue();
    ConsulResponse<Value> first = kv.getConsulResponseWithValue(key).orElseThrow();
    BigInteger index = first.getIndex();
    double openBefore = blockingQueriesOpen();

    QueryOptions block = QueryOptions.blockSeconds(30, index).build();
    CompletableFuture<ConsulResponse<Value>> watch =
        CompletableFuture.supplyAsync(() -> kv.getConsulResponseWithValue(key, block).orElseThrow());
    // the query is parked on the server (not answered at once) before we write
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
        .until(() -> blockingQueriesOpen() > openBefore || watch.isDone());
    assertThat(watch).as("blocks while nothing changed").isNotDone();

    CompletableFuture<Boolean> write = CompletableFuture.supplyAsync(() -> kv.putValue(key, "after"));
    ConsulResponse<Value> woken = watch.get(10, TimeUnit.SECONDS);
    assertThat(write.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(woken.getIndex()).isGreaterThan(index);
    assertThat(woken.getResponse().getValueAsString()).contains("after");
    assertThat(woken.getIndex()).isEqualTo(BigInteger.valueOf(woken.getResponse().getModifyIndex()));
  }

  @Test
  void blockingQueryOnAPrefixIsWokenByADelete() throws Exception {
    assertThat(kv.putValue("compat/watchdir/a", "1")).isTrue();
    assertThat(kv.putValue("compat/watchdir/b", "2")).isTrue();
    ConsulResponse<List<Value>> first = kv.getConsulResponseWithValues("compat/watchdir/");
    double openBefore = blockingQueriesOpen();
    QueryOptions block = QueryOptions.blockSeconds(30, first.getIndex()).build();
    CompletableFuture<ConsulResponse<List<Value>>> watch =
        CompletableFuture.supplyAsync(() -> kv.getConsulResponseWithValues("compat/watchdir/", block));
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
        .until(() -> blockingQueriesOpen() > openBefore || watch.isDone());
    assertThat(watch).isNotDone();

    CompletableFuture.runAsync(() -> kv.deleteKey("compat/watchdir/b")).get(10, TimeUnit.SECONDS);
    ConsulResponse<List<Value>> woken = watch.get(10, TimeUnit.SECONDS);
    assertThat(woken.getIndex()).as("the delete's tombstone moves the prefix index").isGreaterThan(first.getIndex());
    assertThat(woken.getResponse()).extracting(Value::getKey).containsExactly("compat/watchdir/a");
  }

  @Test
  void blockingQueryOnAMissingPrefixWakesWhenAKeyAppears() throws Exception {
    // a 404 still carries X-Consul-Index, so "wait until something exists under here" blocks instead of spinning
    ConsulResponse<List<Value>> none = kv.getConsulResponseWithValues("compat/appear/");
    assertThat(none.getResponse()).isNull();
    assertThat(none.getIndex()).isPositive();
    double openBefore = blockingQueriesOpen();
    QueryOptions block = QueryOptions.blockSeconds(30, none.getIndex()).build();
    CompletableFuture<List<String>> watch = CompletableFuture.supplyAsync(() -> kv.getKeys("compat/appear/", "/", block));
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
        .until(() -> blockingQueriesOpen() > openBefore || watch.isDone());
    assertThat(watch).isNotDone();

    CompletableFuture.supplyAsync(() -> kv.putValue("compat/appear/sub/x", "1")).get(10, TimeUnit.SECONDS);
    assertThat(watch.get(10, TimeUnit.SECONDS)).containsExactly("compat/appear/sub/");
  }

  @Test
  void blockingQueryTimesOutWithTheSameIndex() {
    assertThat(kv.putValue("compat/idle/k", "v")).isTrue();
    BigInteger index = kv.getConsulResponseWithValue("compat/idle/k").orElseThrow().getIndex();
    long start = System.nanoTime();
    ConsulResponse<Value> r = kv.getConsulResponseWithValue("compat/idle/k", QueryOptions.blockSeconds(1, index).build()).orElseThrow();
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(r.getIndex()).isEqualTo(index);
    assertThat(elapsedMs).as("waited for the wait (1s, jitter up to 1/16)").isBetween(900L, 8_000L);
  }

  @Test
  void transaction() {
    TxResponse set = kv.performTransaction(
        ImmutableOperation.builder().verb(Verb.SET.toValue()).key("compat/txn/a").value("1").build(),
        ImmutableOperation.builder().verb(Verb.SET.toValue()).key("compat/txn/b").value("2").flags(3L).build()).getResponse();
    assertThat(set.errors()).isEmpty();
    assertThat(set.results()).hasSize(2);
    assertThat(kv.getValue("compat/txn/b").orElseThrow().getFlags()).isEqualTo(3L);

    TxResponse get = kv.performTransaction(
        ImmutableOperation.builder().verb(Verb.GET.toValue()).key("compat/txn/a").build()).getResponse();
    Map<String, Value> result = get.results().get(0);
    assertThat(result.get("KV").getValueAsString()).contains("1");
  }

  @Test
  void transactionRolledBackIsA409AndDeleteOnlyHasNoResults() {
    assertThat(kv.putValue("compat/txn2/a", "1")).isTrue();
    long index = kv.getValue("compat/txn2/a").orElseThrow().getModifyIndex();
    // Consul answers 409 with the errors; the client turns every non-2xx of a txn into a ConsulException
    assertThatThrownBy(() -> kv.performTransaction(
        ImmutableOperation.builder().verb(Verb.SET.toValue()).key("compat/txn2/b").value("2").build(),
        ImmutableOperation.builder().verb(Verb.CHECK_AND_SET.toValue()).key("compat/txn2/a").value("x")
            .index(BigInteger.valueOf(index + 1_000)).build()))
        .isInstanceOfSatisfying(ConsulException.class, e -> assertThat(e.getCode()).isEqualTo(409));
    assertThat(kv.getValue("compat/txn2/b")).as("rolled back").isEmpty();

    // delete verbs add no result: Consul's "Results": null must parse
    TxResponse deleted = kv.performTransaction(
        ImmutableOperation.builder().verb(Verb.DELETE.toValue()).key("compat/txn2/a").build()).getResponse();
    assertThat(deleted.results()).isEmpty();
    assertThat(deleted.errors()).isEmpty();
    assertThat(kv.getValue("compat/txn2/a")).isEmpty();
  }

  @Test
  void asyncGetWithACallback() throws Exception {
    assertThat(kv.putValue("compat/async/k", "v")).isTrue();
    CompletableFuture<ConsulResponse<Optional<Value>>> got = new CompletableFuture<>();
    kv.getValue("compat/async/k", Options.BLANK_QUERY_OPTIONS, new ConsulResponseCallback<>() {
      @Override
      public void onComplete(ConsulResponse<Optional<Value>> response) {
        got.complete(response);
      }

      @Override
      public void onFailure(Throwable throwable) {
        got.completeExceptionally(throwable);
      }
    });
    ConsulResponse<Optional<Value>> r = got.get(10, TimeUnit.SECONDS);
    assertThat(r.getResponse().flatMap(Value::getValueAsString)).contains("v");
    assertThat(r.getIndex()).isPositive();
  }

  @Test
  void kvCacheFollowsWritesAndDeletes() throws Exception {
    assertThat(kv.putValue("compat/cache/a", "1")).isTrue();
    // KVCache is the client's watch loop: blocking recurse queries, one after another, on the last X-Consul-Index
    try (KVCache cache = KVCache.newCache(kv, "compat/cache/", 2)) {
      cache.start();
      assertThat(cache.awaitInitialized(10, TimeUnit.SECONDS)).isTrue();
      assertThat(cache.getMap()).containsOnlyKeys("a");

      assertThat(kv.putValue("compat/cache/b", "2")).isTrue();
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
          .until(() -> cache.getMap().containsKey("b"));
      assertThat(cache.getMap().get("b").getValueAsString()).contains("2");

      kv.deleteKey("compat/cache/a");
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
          .until(() -> !cache.getMap().containsKey("a"));
      assertThat(cache.getMap()).containsOnlyKeys("b");
    }
  }

  @Test
  void operatorRaftConfiguration() {
    String raft = "127.0.0.1:" + daemon.raftPort();
    for (RaftConfiguration c : List.of(consul.operatorClient().getRaftConfiguration(), consul.operatorClient().getStaleRaftConfiguration())) {
      assertThat(c.servers()).hasSize(1);
      RaftServer s = c.servers().get(0);
      assertThat(s.address()).isEqualTo(raft);
      assertThat(s.node()).isEqualTo("kiwi1");
      assertThat(s.leader()).isTrue();
      assertThat(s.voter()).isTrue();
      assertThat(c.index()).isPositive();
    }
  }

  @Test
  void statusLeaderAndPeers() {
    String raft = "127.0.0.1:" + daemon.raftPort();
    assertThat(consul.statusClient().getLeader()).isEqualTo(raft);
    assertThat(consul.statusClient().getPeers()).containsExactly(raft);
  }

  @Test
  void agentMembersAndSelf() {
    List<Member> members = consul.agentClient().getMembers();
    assertThat(members).hasSize(1);
    Member m = members.get(0);
    assertThat(m.getName()).isEqualTo("kiwi1");
    assertThat(m.getAddress()).isEqualTo("127.0.0.1");
    assertThat(m.getPort()).isEqualTo(daemon.gossipPort());
    assertThat(m.getStatus()).as("Serf's alive").isEqualTo(1);
    assertThat(m.getTags()).containsEntry("role", "server");

    Agent self = consul.agentClient().getAgent();
    assertThat(self.getConfig().getNodeName()).isEqualTo("kiwi1");
    assertThat(self.getConfig().getServer()).isTrue();
    assertThat(self.getConfig().getDatacenter()).isNotEmpty();
    assertThat(self.getMember().getName()).isEqualTo("kiwi1");
    assertThat(self.getDebugConfig()).containsEntry("dev", true);
  }

  private static double blockingQueriesOpen() {
    Gauge gauge = daemon.registry().find("conclave.kv.blocking.queries").gauge();
    assertThat(gauge).as("KvHttp.bindMetrics registers the gauge").isNotNull();
    return gauge.value();
  }
}
