package io.conclave.daemon.runtime;

import static io.conclave.daemon.testing.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HandoffTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    await(vertx.close());
  }

  /** The context of a new, empty verticle (Vert.x hands out its event loops round robin). */
  private Context newContext() {
    Promise<Context> got = Promise.promise();
    await(vertx.deployVerticle(new VerticleBase() {
      @Override
      public Future<?> start() {
        got.complete(context);
        return Future.succeededFuture();
      }
    }));
    return await(got.future());
  }

  /** A context on an event loop other than those of {@code taken}. */
  private Context loopOtherThan(Context... taken) {
    for (int i = 0; i < 64; i++) {
      Context c = newContext();
      Thread t = await(onContext(c));
      boolean free = true;
      for (Context o : taken) {
        free &= await(onContext(o)) != t;
      }
      if (free) {
        return c;
      }
    }
    throw new AssertionError("no free event loop");
  }

  private static Future<Thread> onContext(Context c) {
    Promise<Thread> p = Promise.promise();
    c.runOnContext(v -> p.complete(Thread.currentThread()));
    return p.future();
  }

  @Test
  void whatOneLoopHandsOverInOneTaskArrivesAsOneBatchInOrderOnTheTarget() throws Exception {
    Context from = newContext();
    Context to = loopOtherThan(from);
    Thread target = await(onContext(to));
    Handoff handoff = new Handoff();
    List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
    List<Boolean> right = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch done = new CountDownLatch(100);
    from.runOnContext(v -> {
      for (int i = 0; i < 100; i++) {
        int n = i;
        handoff.run(to, () -> {
          seen.add(n);
          right.add(Thread.currentThread() == target && Vertx.currentContext() == to);
          done.countDown();
        });
      }
      seen.add(-1); // the handing task ends before any of them runs
    });
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    List<Integer> expected = new ArrayList<>(List.of(-1));
    for (int i = 0; i < 100; i++) {
      expected.add(i);
    }
    assertThat(seen).containsExactlyElementsOf(expected);
    assertThat(right).hasSize(100).containsOnly(true);
    assertThat(handoff.handoffs()).isEqualTo(1);
  }

  @Test
  void eachTargetLoopGetsItsOwnBatchAndDuplicatedContextsStayCurrent() throws Exception {
    Context from = newContext();
    Context a = loopOtherThan(from);
    Context b = loopOtherThan(from, a);
    Context aDup = ((io.vertx.core.internal.ContextInternal) a).duplicate();
    Handoff handoff = new Handoff();
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch done = new CountDownLatch(4);
    from.runOnContext(v -> {
      handoff.run(a, () -> {
        seen.add("a1:" + (Vertx.currentContext() == a));
        done.countDown();
      });
      handoff.run(b, () -> {
        seen.add("b1:" + (Vertx.currentContext() == b));
        done.countDown();
      });
      handoff.run(aDup, () -> {
        seen.add("aDup:" + (Vertx.currentContext() == aDup));
        done.countDown();
      });
      handoff.run(a, () -> {
        seen.add("a2:" + (Vertx.currentContext() == a));
        done.countDown();
      });
    });
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(seen).containsExactlyInAnyOrder("a1:true", "b1:true", "aDup:true", "a2:true");
    assertThat(seen.indexOf("a1:true")).isLessThan(seen.indexOf("aDup:true"));
    assertThat(seen.indexOf("aDup:true")).isLessThan(seen.indexOf("a2:true"));
    assertThat(handoff.handoffs()).isEqualTo(2);
  }

  @Test
  void aFailingTaskIsReportedToItsContextAndTheRestOfTheBatchStillRuns() throws Exception {
    Context from = newContext();
    Context to = loopOtherThan(from);
    Promise<Throwable> reported = Promise.promise();
    to.exceptionHandler(reported::tryComplete);
    Handoff handoff = new Handoff();
    CountDownLatch after = new CountDownLatch(1);
    from.runOnContext(v -> {
      handoff.run(to, () -> {
        throw new IllegalStateException("boom");
      });
      handoff.run(to, after::countDown);
    });
    assertThat(after.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(await(reported.future())).hasMessage("boom");
  }

  @Test
  void fromAThreadThatIsNoEventLoopEachTaskGoesAtOnce() throws Exception {
    Context to = newContext();
    Handoff handoff = new Handoff();
    List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch done = new CountDownLatch(3);
    for (int i = 0; i < 3; i++) {
      int n = i;
      handoff.run(to, () -> {
        seen.add(n);
        done.countDown();
      });
    }
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(seen).containsExactly(0, 1, 2);
    assertThat(handoff.handoffs()).isEqualTo(3);
  }
}
