package io.conclave.daemon.kv;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The results of the last {@code windowMax} requests of each of the last {@code agentsMax} agents
 * (by log order), so a retried request answers its first result instead of applying twice.
 *
 * <p>Deterministic: it changes only in {@link #record}, called in log order by the state machine,
 * and evicts by log order (the oldest sequence of an agent; the agent written least recently), so
 * every server holds the same table. It is part of the snapshot.
 *
 * <p>A request whose sequence is at or below the highest sequence evicted for its agent cannot be
 * told apart from an applied one; it is rejected (not applied). An agent evicted as a whole
 * forgets that floor: a retry older than {@code agentsMax} other agents' writes may then apply twice.
 */
final class DedupeTable {
  /** Agents remembered (default 4,096); raising it costs one small window per agent. */
  static final int AGENTS_MAX_DEFAULT = 4096;
  /** Results remembered per agent (default 128): covers that many of one agent's writes in flight. */
  static final int WINDOW_MAX_DEFAULT = 128;

  private static final class Window {
    long floor; // invariant: every evicted seq <= floor
    final TreeMap<Long, KvResult> results = new TreeMap<>();
  }

  private final int agentsMax;
  private final int windowMax;
  /** Iteration order = least recently written first. */
  private final LinkedHashMap<String, Window> agents = new LinkedHashMap<>();

  DedupeTable(int agentsMax, int windowMax) {
    if (agentsMax < 1 || windowMax < 1) {
      throw new IllegalArgumentException("dedupe bounds must be >= 1: agents=" + agentsMax + " window=" + windowMax);
    }
    this.agentsMax = agentsMax;
    this.windowMax = windowMax;
  }

  /** The stored result of a duplicate, a rejection for one too old to tell, or empty for a new request. */
  Optional<KvResult> lookup(RequestId id, long index) {
    Window w = agents.get(id.agent());
    if (w == null) {
      return Optional.empty();
    }
    KvResult stored = w.results.get(id.seq());
    if (stored != null) {
      return Optional.of(stored);
    }
    if (id.seq() <= w.floor) {
      return Optional.of(new KvResult.Rejected("request " + id.agent() + "/" + id.seq()
          + " is older than the dedupe window (floor " + w.floor + "); not applied, it may have been applied before", index));
    }
    return Optional.empty();
  }

  void record(RequestId id, KvResult result) {
    Window w = agents.remove(id.agent());
    if (w == null) {
      w = new Window();
    }
    agents.put(id.agent(), w);
    w.results.put(id.seq(), result);
    while (w.results.size() > windowMax) {
      w.floor = Math.max(w.floor, w.results.pollFirstEntry().getKey());
    }
    Iterator<Map.Entry<String, Window>> eldest = agents.entrySet().iterator();
    while (agents.size() > agentsMax) {
      eldest.next();
      eldest.remove();
    }
  }

  int agentCount() {
    return agents.size();
  }

  DedupeTable copy() {
    DedupeTable c = new DedupeTable(agentsMax, windowMax);
    for (Map.Entry<String, Window> e : agents.entrySet()) {
      Window w = new Window();
      w.floor = e.getValue().floor;
      w.results.putAll(e.getValue().results);
      c.agents.put(e.getKey(), w);
    }
    return c;
  }

  void write(DataOutput out) throws IOException {
    out.writeInt(agents.size());
    for (Map.Entry<String, Window> e : agents.entrySet()) {
      KvCodec.writeString(out, e.getKey());
      out.writeLong(e.getValue().floor);
      out.writeInt(e.getValue().results.size());
      for (Map.Entry<Long, KvResult> r : e.getValue().results.entrySet()) {
        out.writeLong(r.getKey());
        KvCodec.writeResult(out, r.getValue());
      }
    }
  }

  static DedupeTable read(DataInput in, int agentsMax, int windowMax) throws IOException, KvCodecException {
    DedupeTable t = new DedupeTable(agentsMax, windowMax);
    int n = in.readInt();
    if (n < 0) {
      throw new KvCodecException("bad dedupe agent count " + n);
    }
    for (int i = 0; i < n; i++) {
      String agent = KvCodec.readString(in);
      Window w = new Window();
      w.floor = in.readLong();
      int m = in.readInt();
      if (m < 0) {
        throw new KvCodecException("bad dedupe window size " + m);
      }
      for (int j = 0; j < m; j++) {
        w.results.put(in.readLong(), KvCodec.readResult(in));
      }
      t.agents.put(agent, w);
    }
    // a snapshot from a server with bigger bounds is trimmed the same way record() would
    while (t.agents.size() > agentsMax) {
      t.agents.remove(t.agents.keySet().iterator().next());
    }
    for (Window w : t.agents.values()) {
      while (w.results.size() > windowMax) {
        w.floor = Math.max(w.floor, w.results.pollFirstEntry().getKey());
      }
    }
    return t;
  }
}
