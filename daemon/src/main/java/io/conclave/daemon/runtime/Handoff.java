package io.conclave.daemon.runtime;

import io.netty.channel.EventLoop;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands tasks to another context in batches: what one event-loop thread hands over during one of
 * its tasks (an I/O read burst, a Raft apply loop) goes to each target context as a single task,
 * once the current task ends, instead of one {@code runOnContext} per call.
 *
 * <p>Each {@code runOnContext} into a loop that is waiting in {@code epoll_wait} wakes it, a
 * syscall here and a context switch there; under load an HTTP loop handing every request to the
 * Raft loop one by one (and the Raft loop every answer back) spent more of its time waking the
 * other than doing the work. Batched, a burst of requests costs one wake-up.
 *
 * <p>Order: tasks from one thread to one target run in the order they were handed over. A task
 * handed over from a thread that is not an event loop (a worker, a test's main thread) goes at once
 * with its own {@code runOnContext}. The delay added is the rest of the current task on the
 * handing thread, never a timer.
 *
 * <p>Uses Vert.x 5's {@code io.vertx.core.internal.ContextInternal} (the integrators' API) for a
 * context's Netty event loop and to run a task as that context, as {@code runOnContext} does.
 */
public final class Handoff {
  private record Task(ContextInternal context, Runnable task) {}

  /** What one event-loop thread has gathered, per target event loop; touched only by that thread. */
  private final class Pending {
    final Map<EventLoop, List<Task>> byLoop = new IdentityHashMap<>();
    boolean flushScheduled;

    void flush() {
      flushScheduled = false;
      List<Map.Entry<EventLoop, List<Task>>> all = List.copyOf(byLoop.entrySet());
      byLoop.clear();
      for (Map.Entry<EventLoop, List<Task>> e : all) {
        send(e.getKey(), e.getValue());
      }
    }
  }

  private final ThreadLocal<Pending> pending = ThreadLocal.withInitial(Pending::new);
  private final AtomicLong sent = new AtomicLong();

  /** Runs {@code task} on {@code target}: batched when handed over from an event loop, see above. */
  public void run(Context target, Runnable task) {
    ContextInternal to = (ContextInternal) target;
    ContextInternal here = (ContextInternal) Vertx.currentContext();
    if (here == null || !here.isEventLoopContext() || !here.nettyEventLoop().inEventLoop()) {
      sent.incrementAndGet();
      to.runOnContext(v -> task.run());
      return;
    }
    Pending p = pending.get();
    p.byLoop.computeIfAbsent(to.nettyEventLoop(), l -> new ArrayList<>()).add(new Task(to, task));
    if (!p.flushScheduled) {
      p.flushScheduled = true;
      // queued behind this thread's current work: runs when the read burst or task in progress ends
      here.nettyEventLoop().execute(p::flush);
    }
  }

  private void send(EventLoop loop, List<Task> tasks) {
    sent.incrementAndGet();
    loop.execute(() -> {
      for (Task t : tasks) {
        t.context().dispatch(t.task()); // as runOnContext would: that context current, failures reported to it
      }
    });
  }

  /** Hand-overs made so far (tasks given to a target's event loop), for tests and profiling. */
  public long handoffs() {
    return sent.get();
  }
}
