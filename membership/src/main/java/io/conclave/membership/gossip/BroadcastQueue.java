package io.conclave.membership.gossip;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Rumors waiting to be piggybacked or gossiped, at most one per key (the member the rumor is about): a
 * newer rumor about a member replaces the older one, whatever its transmit count. Each take hands out
 * the least-sent rumors first (newest first among equals), and a rumor leaves the queue once it has
 * been sent {@code retransmitLimit} times (λ·⌈log10(n+1)⌉, computed by the caller).
 *
 * <p>Bounded: beyond {@code entriesMax} the most-sent, oldest rumor is dropped (it has had the most
 * chances to spread already) and counted.
 */
public final class BroadcastQueue {
  private static final class Entry {
    final String key;
    final byte[] frame;
    final long id; // invariant: unique, increasing with enqueue order
    int transmits; // invariant: 0 <= transmits < the retransmit limit while queued

    Entry(String key, byte[] frame, long id) {
      this.key = key;
      this.frame = frame;
      this.id = id;
    }
  }

  private final TreeSet<Entry> order =
      new TreeSet<>((a, b) -> a.transmits != b.transmits
          ? Integer.compare(a.transmits, b.transmits)
          : Long.compare(b.id, a.id));
  private final Map<String, Entry> byKey = new HashMap<>();
  private final int entriesMax;
  private long nextId;
  private long dropped;

  public BroadcastQueue(int entriesMax) {
    if (entriesMax < 1) {
      throw new IllegalArgumentException("entriesMax " + entriesMax + " < 1");
    }
    this.entriesMax = entriesMax;
  }

  /** Queues a rumor about {@code key}, replacing any older rumor about it. */
  public void enqueue(String key, byte[] frame) {
    Entry old = byKey.remove(key);
    if (old != null) {
      order.remove(old);
    }
    Entry e = new Entry(key, frame, nextId++);
    byKey.put(key, e);
    order.add(e);
    while (order.size() > entriesMax) {
      Entry victim = order.pollLast();
      byKey.remove(victim.key);
      dropped++;
    }
  }

  /**
   * Takes rumors whose frames fit together within {@code budgetBytes}, least-sent first, and counts a
   * transmission for each. Returns the frames; empty when nothing fits or nothing is queued.
   */
  public List<byte[]> take(int budgetBytes, int retransmitLimit, int framesMax) {
    if (order.isEmpty() || budgetBytes <= 0 || framesMax <= 0) {
      return List.of();
    }
    List<Entry> taken = new ArrayList<>();
    int used = 0;
    int misses = 0; // bounded scan: stop after a few rumors that do not fit, not at the queue's end
    for (Entry e : order) {
      if (taken.size() >= framesMax || budgetBytes - used < 8 || misses >= 8) {
        break;
      }
      if (used + e.frame.length <= budgetBytes) {
        taken.add(e);
        used += e.frame.length;
      } else {
        misses++;
      }
    }
    List<byte[]> frames = new ArrayList<>(taken.size());
    for (Entry e : taken) {
      order.remove(e);
      e.transmits++;
      frames.add(e.frame);
      if (e.transmits < retransmitLimit) {
        order.add(e);
      } else {
        byKey.remove(e.key);
      }
    }
    return frames;
  }

  public boolean contains(String key) {
    return byKey.containsKey(key);
  }

  public int size() {
    return byKey.size();
  }

  /** Rumors dropped because the queue was full. */
  public long dropped() {
    return dropped;
  }

  /** Retransmit limit λ·⌈log10(n+1)⌉ (memberlist util.go retransmitLimit). */
  public static int retransmitLimit(int retransmitMult, int memberCount) {
    int scale = (int) Math.ceil(Math.log10(memberCount + 1.0));
    return Math.max(1, retransmitMult * scale);
  }
}
