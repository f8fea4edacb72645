package io.conclave.consensus.log;

import io.conclave.consensus.raft.Snapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A {@link LogStore} in memory, for {@code --dev} and tests. It models durability the way a disk
 * does: writes are pending until {@link #sync()}, and {@link #crash()} throws pending writes away,
 * so a simulation can restart a node from exactly what it had forced.
 */
public final class MemoryLogStore implements LogStore {
  private View durable = new View();
  private View work = new View();
  // Writes since the last sync, replayed onto the durable view by sync(): the cost of a sync is the
  // size of the batch, not of the log.
  private final List<Consumer<View>> pending = new ArrayList<>();
  private long syncs;

  @Override
  public Recovered recovered() {
    return new Recovered(durable.hardState, durable.snapshot, durable.first, List.copyOf(durable.entries));
  }

  @Override
  public void append(List<Entry> entries) {
    if (entries.isEmpty()) return;
    long first = entries.get(0).index();
    for (int i = 1; i < entries.size(); i++) {
      if (entries.get(i).index() != first + i) {
        throw new IllegalArgumentException("entries not contiguous at " + entries.get(i).index());
      }
    }
    work.append(entries);
    List<Entry> copy = List.copyOf(entries);
    pending.add(v -> v.append(copy));
  }

  @Override
  public void saveHardState(HardState hs) {
    work.hardState = hs;
    pending.add(v -> v.hardState = hs);
  }

  @Override
  public void saveSnapshot(Snapshot snapshot) {
    work.saveSnapshot(snapshot);
    pending.add(v -> v.saveSnapshot(snapshot));
  }

  @Override
  public void compact(long index) {
    work.compact(index);
    pending.add(v -> v.compact(index));
  }

  @Override
  public void sync() {
    for (Consumer<View> op : pending) op.accept(durable);
    pending.clear();
    syncs++;
  }

  /** Loses every write since the last {@link #sync()}, as a power cut would. */
  public void crash() {
    pending.clear();
    work = durable.copy();
  }

  @Override
  public long lastIndex() {
    return work.lastIndex();
  }

  public long syncCount() {
    return syncs;
  }

  @Override
  public void close() {}

  /** One consistent state of the store: hard state, snapshot, and the entries after {@code first - 1}. */
  private static final class View {
    HardState hardState = HardState.EMPTY;
    Snapshot snapshot;
    long first = 1; // index of entries.get(0)
    ArrayList<Entry> entries = new ArrayList<>();

    long lastIndex() {
      return first + entries.size() - 1;
    }

    void append(List<Entry> batch) {
      long start = batch.get(0).index();
      if (start < first || start > lastIndex() + 1) {
        throw new IllegalArgumentException("append at " + start + " outside [" + first + ", " + (lastIndex() + 1) + "]");
      }
      entries.subList((int) (start - first), entries.size()).clear();
      entries.addAll(batch);
    }

    void saveSnapshot(Snapshot s) {
      if (snapshot != null && s.index() <= snapshot.index()) return; // stale or duplicate: see LogStore
      long i = s.index();
      boolean matches = i >= first && i <= lastIndex() && entries.get((int) (i - first)).term() == s.term();
      if (matches) {
        entries.subList(0, (int) (i - first + 1)).clear();
      } else {
        entries.clear();
      }
      first = i + 1;
      snapshot = s;
    }

    void compact(long index) {
      long upTo = Math.min(index, lastIndex());
      if (snapshot == null || upTo < first) return;
      upTo = Math.min(upTo, snapshot.index());
      if (upTo < first) return;
      entries.subList(0, (int) (upTo - first + 1)).clear();
      first = upTo + 1;
    }

    View copy() {
      View v = new View();
      v.hardState = hardState;
      v.snapshot = snapshot;
      v.first = first;
      v.entries = new ArrayList<>(entries);
      return v;
    }
  }
}
