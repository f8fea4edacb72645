package io.conclave.consensus.log;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link LogStore} in memory, for {@code --dev} and tests. It models durability the way a disk
 * does: writes are pending until {@link #sync()}, and {@link #crash()} throws pending writes away,
 * so a simulation can restart a node from exactly what it had forced.
 */
public final class MemoryLogStore implements LogStore {
  // Durable view.
  private HardState syncedState = HardState.EMPTY;
  private final List<Entry> synced = new ArrayList<>();
  // Working view: what the node wrote, durable or not.
  private HardState state = HardState.EMPTY;
  private final List<Entry> log = new ArrayList<>();
  // Writes since the last sync, replayed onto the durable view by sync(): cost per sync is the size
  // of the batch, not of the log.
  private final List<List<Entry>> pending = new ArrayList<>();
  private long syncs;

  @Override
  public Recovered recovered() {
    return new Recovered(syncedState, 1, List.copyOf(synced));
  }

  @Override
  public void append(List<Entry> entries) {
    if (entries.isEmpty()) return;
    long first = entries.get(0).index();
    if (first > log.size() + 1L) {
      throw new IllegalArgumentException("gap: append at " + first + " after last " + log.size());
    }
    for (int i = 1; i < entries.size(); i++) {
      if (entries.get(i).index() != first + i) {
        throw new IllegalArgumentException("entries not contiguous at " + entries.get(i).index());
      }
    }
    truncateFrom(log, first);
    log.addAll(entries);
    pending.add(List.copyOf(entries));
  }

  private static void truncateFrom(List<Entry> list, long index) {
    if (list.size() >= index) list.subList((int) (index - 1), list.size()).clear();
  }

  @Override
  public void saveHardState(HardState hs) {
    state = hs;
  }

  @Override
  public void sync() {
    syncedState = state;
    for (List<Entry> batch : pending) {
      truncateFrom(synced, batch.get(0).index());
      synced.addAll(batch);
    }
    pending.clear();
    syncs++;
  }

  /** Loses every write since the last {@link #sync()}, as a power cut would. */
  public void crash() {
    state = syncedState;
    pending.clear();
    log.clear();
    log.addAll(synced);
  }

  @Override
  public long lastIndex() {
    return log.size();
  }

  public long syncCount() {
    return syncs;
  }

  @Override
  public void close() {}
}
