package io.conclave.daemon.kv;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The waiting side of blocking queries: watchers of one key or of a prefix, woken by the
 * {@link KvChange}s of the state machine, or by their deadline.
 *
 * <p>Bounded: at most {@code watchersMax} watchers at once. Beyond that {@link #waitFor} fails with
 * {@link TooManyWatchersException} (HTTP 429), rather than answering at once, which would turn each
 * refused watcher into a busy loop. Waking costs O(watchers of the changed key + distinct prefix
 * lengths) per changed key, not O(all watchers).
 *
 * <p>Thread-safe; each watcher's future completes on the Vert.x context that called {@link #waitFor}.
 */
public final class KvWatches {
  /** Default bound on open blocking queries; each costs a timer and a few hundred bytes. */
  public static final int WATCHERS_MAX_DEFAULT = 10_000;

  /** Refused: too many blocking queries are open. */
  public static final class TooManyWatchersException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooManyWatchersException(int max) {
      super("Too many blocking queries (" + max + " open); retry later", null, false, false);
    }
  }

  private final class Watcher {
    final String key;
    final boolean prefix;
    final Promise<Boolean> promise;
    final Context context;
    long timerId = -1;
    boolean done; // guarded by KvWatches.this

    Watcher(String key, boolean prefix, Promise<Boolean> promise, Context context) {
      this.key = key;
      this.prefix = prefix;
      this.promise = promise;
      this.context = context;
    }
  }

  private final Vertx vertx;
  private final int watchersMax;
  private final TreeMap<String, Set<Watcher>> byKey = new TreeMap<>();
  private final TreeMap<String, Set<Watcher>> byPrefix = new TreeMap<>();
  /** Distinct lengths of the watched prefixes, with counts. */
  private final TreeMap<Integer, Integer> prefixLengths = new TreeMap<>();
  private int count;

  public KvWatches(Vertx vertx, int watchersMax) {
    if (watchersMax < 1) {
      throw new IllegalArgumentException("watchersMax must be >= 1, got " + watchersMax);
    }
    this.vertx = vertx;
    this.watchersMax = watchersMax;
  }

  /** Follows a state machine's changes. */
  public KvWatches attach(KvStateMachine store) {
    store.addListener(this::onChange);
    return this;
  }

  /**
   * Completes with true when a change to {@code key} (or under it, if {@code prefix}) is applied
   * after this call, or at once if {@code currentIndex} already exceeds {@code minIndex}; with false
   * after {@code waitMs}. {@code currentIndex} is read after registering, so a change applied
   * between the caller's read and this call is not missed.
   */
  public Future<Boolean> waitFor(long minIndex, String key, boolean prefix, long waitMs, LongSupplier currentIndex) {
    return watch(minIndex, key, prefix, waitMs, currentIndex).future();
  }

  /** One open wait; {@link #cancel} ends it with false at once (e.g. the client hung up). */
  public interface Watch {
    Future<Boolean> future();

    void cancel();
  }

  /** As {@link #waitFor}, with a handle to give up the wait early and free its slot. */
  public Watch watch(long minIndex, String key, boolean prefix, long waitMs, LongSupplier currentIndex) {
    Context context = vertx.getOrCreateContext();
    Promise<Boolean> promise = Promise.promise();
    Watcher w = new Watcher(key, prefix, promise, context);
    Watch handle = new Watch() {
      @Override
      public Future<Boolean> future() {
        return promise.future();
      }

      @Override
      public void cancel() {
        fire(List.of(w), false);
      }
    };
    synchronized (this) {
      if (count >= watchersMax) {
        promise.fail(new TooManyWatchersException(watchersMax));
        return handle;
      }
      add(w);
    }
    if (currentIndex.getAsLong() > minIndex) {
      fire(List.of(w), true);
      return handle;
    }
    long timer = vertx.setTimer(Math.max(1, waitMs), id -> fire(List.of(w), false));
    synchronized (this) {
      w.timerId = timer;
      if (w.done) {
        vertx.cancelTimer(timer);
      }
    }
    return handle;
  }

  public synchronized int size() {
    return count;
  }

  void onChange(KvChange change) {
    List<Watcher> woken = new ArrayList<>();
    synchronized (this) {
      if (count == 0) {
        return; // every applied write comes here: nothing to allocate or walk when nobody waits
      }
      if (change.all()) {
        byKey.values().forEach(woken::addAll);
        byPrefix.values().forEach(woken::addAll);
      } else {
        Set<Watcher> set = new LinkedHashSet<>();
        for (String key : change.keys()) {
          addAll(set, byKey.get(key));
          addPrefixesOf(key, set);
        }
        for (String tree : change.prefixes()) {
          collectUnder(byKey, tree, set);
          collectUnder(byPrefix, tree, set);
          addPrefixesOf(tree, set);
        }
        woken.addAll(set);
      }
    }
    fire(woken, true);
  }

  /** Prefix watchers whose prefix is a prefix of {@code key}. */
  private void addPrefixesOf(String key, Set<Watcher> into) {
    for (int length : prefixLengths.headMap(key.length(), true).keySet()) {
      addAll(into, byPrefix.get(key.substring(0, length)));
    }
  }

  private static void collectUnder(TreeMap<String, Set<Watcher>> map, String tree, Set<Watcher> into) {
    for (Map.Entry<String, Set<Watcher>> e : map.tailMap(tree, true).entrySet()) {
      if (!e.getKey().startsWith(tree)) {
        break;
      }
      into.addAll(e.getValue());
    }
  }

  private static void addAll(Set<Watcher> into, Set<Watcher> from) {
    if (from != null) {
      into.addAll(from);
    }
  }

  private void fire(List<Watcher> watchers, boolean changed) {
    List<Watcher> fired = new ArrayList<>(watchers.size());
    synchronized (this) {
      for (Watcher w : watchers) {
        if (!w.done) {
          w.done = true;
          remove(w);
          fired.add(w);
        }
      }
    }
    for (Watcher w : fired) {
      if (w.timerId >= 0) {
        vertx.cancelTimer(w.timerId); // harmless when the timer itself fired
      }
      w.context.runOnContext(v -> w.promise.tryComplete(changed));
    }
  }

  private void add(Watcher w) {
    (w.prefix ? byPrefix : byKey).computeIfAbsent(w.key, k -> new HashSet<>()).add(w);
    if (w.prefix) {
      prefixLengths.merge(w.key.length(), 1, Integer::sum);
    }
    count++;
  }

  private void remove(Watcher w) {
    TreeMap<String, Set<Watcher>> map = w.prefix ? byPrefix : byKey;
    Set<Watcher> set = map.get(w.key);
    if (set != null && set.remove(w)) {
      if (set.isEmpty()) {
        map.remove(w.key);
      }
      if (w.prefix) {
        prefixLengths.compute(w.key.length(), (k, n) -> n == null || n <= 1 ? null : n - 1);
      }
      count--;
    }
  }
}
