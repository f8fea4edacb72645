package io.conclave.daemon.bridge;

import io.conclave.daemon.cluster.Member;
import io.conclave.daemon.raft.RaftRequestException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link AutopilotPlanner} on the leader every {@link AutopilotSettings#interval()} and carries
 * out its one change at a time; followers only forget their timers. Every decision is logged at INFO
 * with its reason; a change the Raft core refuses is logged with the core's reason (once per distinct
 * reason, then at DEBUG while it repeats).
 */
public final class Autopilot {
  private static final Logger LOG = LoggerFactory.getLogger(Autopilot.class);

  private final Vertx vertx;
  private final String self;
  private final RaftAdmin admin;
  private final Supplier<List<Member>> members;
  private final AutopilotSettings settings;
  private final Supplier<Optional<byte[]>> override;
  private byte[] lastOverride;
  private final LongSupplier nowMs;
  private final AutopilotPlanner planner;
  private long timer = -1;
  private boolean busy;
  private boolean leading;
  private String lastRefusal = "";
  private volatile long changes;

  /**
   * @param settings this server's own thresholds
   * @param override the cluster-wide override's bytes (the KV value at {@link AutopilotSettings#KEY}),
   *     read at every review; empty: use {@code settings}
   */
  public Autopilot(Vertx vertx, String self, RaftAdmin admin, Supplier<List<Member>> members,
      AutopilotSettings settings, Supplier<Optional<byte[]>> override, LongSupplier nowMs) {
    this.override = override;
    this.vertx = vertx;
    this.self = self;
    this.admin = admin;
    this.members = members;
    this.settings = settings;
    this.nowMs = nowMs;
    this.planner = new AutopilotPlanner(self, settings);
  }

  /** Starts the periodic review; call on the runtime's context. */
  public void start() {
    timer = vertx.setPeriodic(settings.interval().toMillis(), t -> review());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  /** Configuration changes autopilot made (applied) so far. */
  public long changes() {
    return changes;
  }

  private void review() {
    if (busy || timer < 0) {
      return;
    }
    busy = true;
    refreshSettings();
    admin.state().compose(s -> {
      if (!s.isLeader()) {
        if (leading) {
          planner.reset();
          leading = false;
        }
        return Future.<Void>succeededFuture();
      }
      leading = true;
      return admin.progress().compose(progress -> {
        Optional<AutopilotPlanner.Action> action =
            planner.plan(s.configuration(), s.lastIndex(), progress, members.get(), nowMs.getAsLong());
        return action.map(this::carryOut).orElse(Future.succeededFuture());
      });
    }).onComplete(ar -> {
      busy = false;
      if (ar.failed()) {
        LOG.debug("autopilot review failed node={} error=\"{}\"", self, ar.cause().toString());
      }
    });
  }

  /** Applies the cluster-wide override when it changed; a bad one is logged and ignored. */
  private void refreshSettings() {
    byte[] bytes;
    try {
      bytes = override.get().orElse(null);
    } catch (RuntimeException e) {
      LOG.debug("autopilot settings unreadable node={} error=\"{}\"", self, e.toString());
      return;
    }
    if (java.util.Arrays.equals(bytes, lastOverride)) {
      return;
    }
    lastOverride = bytes;
    AutopilotSettings next = settings;
    if (bytes != null) {
      try {
        next = AutopilotSettings.parse(bytes, settings);
      } catch (IllegalArgumentException e) {
        LOG.warn("autopilot settings in kv {} ignored node={} error=\"{}\"", AutopilotSettings.KEY, self, e.getMessage());
        next = settings;
      }
    }
    if (!next.equals(planner.settings())) {
      LOG.info("autopilot settings node={} source={} stabilization_ms={} cleanup_failed_ms={} max_lag_entries={}",
          self, bytes == null ? "local" : "kv " + AutopilotSettings.KEY, next.stabilization().toMillis(),
          next.cleanupFailed().toMillis(), next.maxLagEntries());
      planner.use(next);
    }
  }

  /** The thresholds in force. */
  public AutopilotSettings settings() {
    return planner.settings();
  }

  private Future<Void> carryOut(AutopilotPlanner.Action action) {
    String verb;
    Future<Long> change;
    if (action instanceof AutopilotPlanner.AddLearner) {
      verb = "add learner";
    } else if (action instanceof AutopilotPlanner.Promote) {
      verb = "promote";
    } else {
      verb = "remove";
    }
    String decision = verb + " member=" + action.member() + " reason=\"" + action.reason() + "\"";
    if (action instanceof AutopilotPlanner.AddLearner) {
      change = admin.addLearner(action.member());
    } else if (action instanceof AutopilotPlanner.Promote) {
      change = admin.promote(action.member());
    } else {
      change = admin.remove(action.member());
    }
    String key = verb + " " + action.member();
    if (!key.equals(lastRefusal)) {
      LOG.info("autopilot {} node={}", decision, self);
    } else {
      LOG.debug("autopilot {} node={}", decision, self);
    }
    return change.<Void>map(index -> {
      changes++;
      lastRefusal = "";
      LOG.info("autopilot {} done node={} member={} index={}", verb, self, action.member(), index);
      return null;
    }).recover(e -> {
      String why = e instanceof RaftRequestException r ? r.kind() + ": " + r.getMessage() : e.toString();
      if (!key.equals(lastRefusal)) {
        LOG.info("autopilot {} not done node={} member={} why=\"{}\"", verb, self, action.member(), why);
      } else {
        LOG.debug("autopilot {} not done node={} member={} why=\"{}\"", verb, self, action.member(), why);
      }
      lastRefusal = key;
      return Future.succeededFuture();
    });
  }
}
