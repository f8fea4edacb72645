package io.conclave.daemon.kv;

import static io.conclave.daemon.testing.Futures.await;
import static io.conclave.daemon.testing.Futures.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Watchers are woken by changes to their key or prefix, time out otherwise, and are bounded. */
class KvWatchesTest {
  final Vertx vertx = Vertx.vertx();
  final KvStateMachine sm = new KvStateMachine();
  final LocalKvBackend backend = new LocalKvBackend(sm);

  @AfterEach
  void close() {
    await(vertx.close());
  }

  void write(KvCommand c) {
    await(backend.write(KvCodec.encode(KvRequest.of(c))));
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void keyAndPrefixWatchersWakeOnRelevantChangesOnly() {
    KvWatches w = new KvWatches(vertx, 100).attach(sm);
    write(new KvCommand.Set("seed", b("0"), 0));
    long idx = sm.index();
    Future<Boolean> key = w.waitFor(idx, "a/b", false, 60_000, () -> sm.get("a/b").entry().map(KvEntry::modifyIndex).orElse(0L));
    Future<Boolean> prefix = w.waitFor(idx, "a/", true, 60_000, () -> 0);
    Future<Boolean> root = w.waitFor(idx, "", true, 60_000, () -> 0);
    Future<Boolean> other = w.waitFor(idx, "b", false, 60_000, () -> 0);
    Future<Boolean> deep = w.waitFor(idx, "a/x/", true, 60_000, () -> 0);
    assertThat(w.size()).isEqualTo(5);

    write(new KvCommand.Set("a/b", b("1"), 0));
    assertThat(await(key)).isTrue();
    assertThat(await(prefix)).isTrue();
    assertThat(await(root)).isTrue();
    assertThat(other.isComplete()).isFalse();
    assertThat(deep.isComplete()).isFalse();
    assertThat(w.size()).isEqualTo(2);

    write(new KvCommand.DeleteTree("a")); // a tree delete above the deep prefix wakes it
    assertThat(await(deep)).isTrue();
    assertThat(other.isComplete()).isFalse();
    write(new KvCommand.Delete("b")); // missing: no change, no wake
    assertThat(other.isComplete()).isFalse();
    assertThat(w.size()).isEqualTo(1);
  }

  @Test
  void treeDeleteWakesKeyWatchersUnderIt() {
    KvWatches w = new KvWatches(vertx, 100).attach(sm);
    write(new KvCommand.Set("t/1", b("1"), 0));
    Future<Boolean> key = w.waitFor(sm.index(), "t/1", false, 60_000, () -> 0);
    write(new KvCommand.DeleteTree("t/"));
    assertThat(await(key)).isTrue();
  }

  @Test
  void timesOutWithFalse() {
    KvWatches w = new KvWatches(vertx, 100).attach(sm);
    long start = System.nanoTime();
    assertThat(await(w.waitFor(5, "k", false, 150, () -> 0))).isFalse();
    assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(140);
    assertThat(w.size()).isZero();
  }

  @Test
  void anIndexAlreadyPastTheMinimumAnswersAtOnce() {
    KvWatches w = new KvWatches(vertx, 100).attach(sm);
    assertThat(await(w.waitFor(5, "k", false, 60_000, () -> 6))).isTrue();
    assertThat(w.size()).isZero();
  }

  @Test
  void refusesBeyondTheCapAndAcceptsAgainWhenOneEnds() {
    KvWatches w = new KvWatches(vertx, 2).attach(sm);
    Future<Boolean> a = w.waitFor(1, "a", false, 60_000, () -> 0);
    w.waitFor(1, "b", false, 60_000, () -> 0);
    assertThat(awaitFailure(w.waitFor(1, "c", false, 60_000, () -> 0))).isInstanceOf(KvWatches.TooManyWatchersException.class);
    write(new KvCommand.Set("a", b("1"), 0));
    assertThat(await(a)).isTrue();
    Future<Boolean> c = w.waitFor(1, "c", false, 60_000, () -> 0);
    assertThat(w.size()).isEqualTo(2);
    write(new KvCommand.Set("c", b("1"), 0));
    assertThat(await(c)).isTrue();
  }

  @Test
  void restoreWakesEveryone() throws Exception {
    KvWatches w = new KvWatches(vertx, 100).attach(sm);
    List<Future<Boolean>> all = List.of(w.waitFor(1, "x", false, 60_000, () -> 0), w.waitFor(1, "p/", true, 60_000, () -> 0));
    KvStateMachine source = new KvStateMachine();
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    source.writeSnapshot(out);
    sm.restore(new java.io.ByteArrayInputStream(out.toByteArray()));
    for (Future<Boolean> f : all) {
      assertThat(await(f)).isTrue();
    }
  }
}
