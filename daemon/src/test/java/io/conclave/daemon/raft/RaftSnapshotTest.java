package io.conclave.daemon.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.conclave.consensus.log.LogStore;
import io.conclave.consensus.log.SegmentedLogStore;
import io.conclave.consensus.log.SnapshotFiles;
import io.conclave.consensus.raft.Snapshot;
import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.kv.KvCodec;
import io.conclave.daemon.kv.KvCommand;
import io.conclave.daemon.kv.KvEntry;
import io.conclave.daemon.kv.KvRequest;
import io.conclave.daemon.kv.KvResult;
import io.conclave.daemon.kv.KvStateMachine;
import io.conclave.daemon.kv.RaftKvBackend;
import io.conclave.daemon.runtime.Daemon;
import io.conclave.daemon.runtime.StartException;
import io.conclave.daemon.testing.Futures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots in the running daemon: servers in one JVM on 127.0.0.1 (real TCP, logs in temporary data
 * dirs), each applying KV commands to its own {@link KvStateMachine}, with a low snapshot threshold.
 * Checks that snapshots are taken and the log compacted, that a restart restores the snapshot and
 * replays only the tail, that a follower behind the leader's compacted log catches up by
 * InstallSnapshot to the same KV state, and that a damaged snapshot stops the start with one line.
 */
class RaftSnapshotTest {
  static final Set<String> VOTERS = Set.of("n1", "n2", "n3");
  static final Duration WAIT = Duration.ofSeconds(30);
  static final SnapshotPolicy POLICY = new SnapshotPolicy(50, 20);

  final RaftPeers peers = new RaftPeers();
  SnapshotPolicy policy = POLICY;
  final Map<String, Server> servers = new LinkedHashMap<>();

  @TempDir Path dir;

  /** One running daemon, its KV store, and how many commands it applied since it started. */
  record Server(String id, Daemon daemon, RaftRuntime raft, KvStateMachine kv, AtomicLong applies) {}

  @AfterEach
  void stopAll() {
    servers.values().forEach(s -> s.daemon().stop(Daemon.STOP_PHASE_TIMEOUT));
  }

  DaemonConfig config(String id) {
    String[] args = {"--server", "--node", id, "--data-dir", dir.resolve(id).toString(),
        "--http-port", "0", "--gossip-port", "0", "--raft-port", "0"};
    return ((ConfigLoader.Run) new ConfigLoader(() -> id).load(args)).config();
  }

  /** The KV state machine as Main wires it, counting the commands it applies. */
  static StateMachine counting(KvStateMachine kv, AtomicLong applies) {
    StateMachine inner = RaftKvBackend.stateMachine(kv);
    return new StateMachine() {
      @Override
      public Object apply(long index, byte[] command) {
        applies.incrementAndGet();
        return inner.apply(index, command);
      }

      @Override
      public boolean snapshots() {
        return true;
      }

      @Override
      public Capture snapshot() {
        return inner.snapshot();
      }

      @Override
      public Restore prepareRestore(InputStream in) throws IOException {
        return inner.prepareRestore(in);
      }
    };
  }

  Server start(String id, Set<String> voters) {
    KvStateMachine kv = new KvStateMachine();
    AtomicLong applies = new AtomicLong();
    RaftClusterRuntime runtime = new RaftClusterRuntime(peers, Optional.of(voters), RaftTiming.lan(),
        counting(kv, applies)).withSnapshotPolicy(policy);
    Daemon d = Daemon.start(config(id), runtime, Duration.ofSeconds(20));
    Server s = new Server(id, d, Futures.await(runtime.raft()), kv, applies);
    servers.put(id, s);
    return s;
  }

  Server start(String id) {
    return start(id, VOTERS);
  }

  void stop(Server s) {
    servers.remove(s.id());
    s.daemon().stop(Daemon.STOP_PHASE_TIMEOUT);
  }

  static RaftState state(Server s) {
    return Futures.await(s.raft().state());
  }

  Server awaitLeader() {
    Server[] found = new Server[1];
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
      List<RaftState> states = servers.values().stream().map(RaftSnapshotTest::state).toList();
      List<RaftState> leaders = states.stream().filter(RaftState::isLeader).toList();
      if (leaders.size() != 1) {
        return false;
      }
      RaftState l = leaders.get(0);
      if (!states.stream().allMatch(st -> st.leaderId().equals(l.id()) && st.term() == l.term())) {
        return false;
      }
      found[0] = servers.get(l.id());
      return true;
    });
    return found[0];
  }

  private Server knownLeader;

  /**
   * Sets key to value on the leader (found once, again only after NOT_LEADER, when nothing was
   * appended); fails the test on any other outcome, so every write counted here was acknowledged.
   */
  void put(String key, String value) {
    byte[] command = KvCodec.encode(KvRequest.of(new KvCommand.Set(key, value.getBytes(StandardCharsets.UTF_8), 0)));
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      if (knownLeader == null || !servers.containsValue(knownLeader)) {
        knownLeader = awaitLeader();
      }
      try {
        assertThat(Futures.await(knownLeader.raft().propose(command))).isInstanceOf(KvResult.Bool.class);
        return;
      } catch (AssertionError e) {
        if (!(e.getCause() instanceof RaftRequestException r && r.kind() == RaftRequestException.Kind.NOT_LEADER)
            || System.nanoTime() > deadline) {
          throw e;
        }
        knownLeader = null;
      }
    }
  }

  /**
   * Big values trigger snapshots by their bytes long before the entry count would, and compaction
   * keeps no more trailing data than its byte budget: the log lives in memory (by count alone, a
   * server on a 256 MB heap died of OutOfMemoryError after 430 values of 512 KiB).
   */
  @Test
  void bigValuesAreSnapshottedByTheirBytesAndTrailBehindTheSnapshotWithinTheByteBudget() {
    policy = new SnapshotPolicy(1_000_000, 1_000_000, 8 * 1024, 4 * 1024);
    for (String id : VOTERS) {
      start(id);
    }
    String value = "v".repeat(2_000);
    for (int i = 0; i < 20; i++) {
      put("k" + (i % 3), value);
    }
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      for (Server s : servers.values()) {
        RaftState st = state(s);
        assertThat(st.snapshotIndex()).as(s.id() + " snapshot").isGreaterThanOrEqualTo(8);
        // entries behind the snapshot: about 2,010 bytes each against 4 KiB of budget, so at most two
        // (the entry count, 1,000,000, would have kept all of them)
        assertThat(st.snapshotIndex() - st.firstIndex() + 1).as(s.id() + " trailing").isBetween(0L, 2L);
      }
    });
  }

  static byte[] snapshotBytes(KvStateMachine kv) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      kv.writeSnapshot(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static Map<String, String> contents(KvStateMachine kv) {
    Map<String, String> out = new TreeMap<>();
    for (KvEntry e : kv.list("").entries()) {
      out.put(e.key(), new String(e.value(), StandardCharsets.UTF_8));
    }
    return out;
  }

  static double counter(Server s, String result) {
    return s.daemon().registry().get("conclave.raft.snapshots").tag("result", result).counter().count();
  }

  /** Every running server applied the same index, and no snapshot is due (the log is quiet). */
  void awaitQuiet() {
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
      List<RaftState> states = servers.values().stream().map(RaftSnapshotTest::state).toList();
      long applied = states.get(0).appliedIndex();
      return states.stream().allMatch(st -> st.appliedIndex() == applied && st.commitIndex() == applied
          && applied - st.snapshotIndex() < POLICY.thresholdEntries());
    });
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * (a) 300 writes with a threshold of 50: every server snapshots and compacts (its in-memory log
   * and its log on disk start past index 1); a follower restarted from its data dir restores the
   * snapshot, replays fewer than 50 commands, and holds every acknowledged write.
   */
  @Test
  void snapshotsCompactTheLogAndARestartReplaysOnlyTheTail() throws IOException {
    VOTERS.stream().sorted().forEach(this::start);
    Map<String, String> written = new TreeMap<>();
    for (int i = 0; i < 300; i++) {
      put("k" + (i % 120), "v" + i);
      written.put("k" + (i % 120), "v" + i);
    }
    awaitQuiet();
    for (Server s : servers.values()) {
      RaftState st = state(s);
      assertThat(st.snapshotIndex()).as("snapshot on %s", s.id()).isGreaterThan(250);
      // the trailing entries stay behind a snapshot taken here (one installed from the leader keeps none)
      assertThat(st.firstIndex()).as("in-memory log start on %s", s.id())
          .isGreaterThanOrEqualTo(st.snapshotIndex() - POLICY.trailingEntries() + 1).isGreaterThan(200);
      assertThat(counter(s, "taken") + counter(s, "installed")).as("snapshots on %s", s.id()).isGreaterThanOrEqualTo(3);
      assertThat(s.daemon().registry().get("conclave.raft.snapshot.duration").tag("kind", "taken").timer().count())
          .isEqualTo((long) counter(s, "taken"));
      assertThat(contents(s.kv())).isEqualTo(written);
    }

    Server leader = awaitLeader();
    Server follower = servers.values().stream().filter(s -> s != leader).findFirst().orElseThrow();
    long lastIndex = state(follower).lastIndex();
    stop(follower);
    Path logDir = logDir(dir.resolve(follower.id()));
    long snapshotIndex;
    try (SegmentedLogStore store = SegmentedLogStore.open(logDir)) {
      LogStore.Recovered r = store.recovered();
      assertThat(r.snapshot()).isNotNull();
      snapshotIndex = r.snapshot().index();
      assertThat(r.firstIndex()).as("the log on disk starts after the snapshot").isEqualTo(snapshotIndex + 1);
      assertThat(snapshotIndex + r.entries().size()).isEqualTo(lastIndex);
    }
    try (Stream<Path> files = Files.list(logDir)) {
      assertThat(files.filter(f -> f.getFileName().toString().endsWith(".snap")).count()).isEqualTo(1);
    }

    Server restarted = start(follower.id());
    awaitQuiet();
    assertThat(contents(restarted.kv())).as("every acknowledged write is back").isEqualTo(written);
    assertThat(restarted.applies().get()).as("commands replayed after the snapshot at %d of %d", snapshotIndex, lastIndex)
        .isLessThanOrEqualTo(lastIndex - snapshotIndex).isLessThan(POLICY.thresholdEntries());
    assertThat(counter(restarted, "installed")).as("caught up from its own snapshot, not the leader's").isZero();
    assertThat(snapshotBytes(restarted.kv())).isEqualTo(snapshotBytes(awaitLeader().kv()));
  }

  /**
   * (b) A follower stopped after 10 writes misses 300 more; the leader compacts far beyond its
   * match index (trailing 20 entries). Restarted, it catches up by InstallSnapshot and then holds
   * the same KV state as the leader, byte for byte.
   */
  @Test
  void aFollowerBehindTheCompactedLogCatchesUpByInstallSnapshot() {
    VOTERS.stream().sorted().forEach(this::start);
    for (int i = 0; i < 10; i++) {
      put("early" + i, "e" + i);
    }
    awaitQuiet();
    Server leader = awaitLeader();
    Server follower = servers.values().stream().filter(s -> s != leader).findFirst().orElseThrow();
    long followerLast = state(follower).lastIndex();
    stop(follower);
    for (int i = 0; i < 300; i++) {
      put("late" + (i % 50), "l" + i);
    }
    awaitQuiet();
    Server now = awaitLeader();
    assertThat(state(now).firstIndex()).as("the leader's log no longer holds the follower's next entry")
        .isGreaterThan(followerLast + 1);

    Server restarted = start(follower.id());
    awaitQuiet();
    assertThat(counter(restarted, "installed")).isGreaterThanOrEqualTo(1);
    assertThat(restarted.daemon().registry().get("conclave.raft.snapshot.duration").tag("kind", "installed")
        .timer().count()).isGreaterThanOrEqualTo(1);
    Server leaderNow = awaitLeader();
    assertThat(contents(restarted.kv())).isEqualTo(contents(leaderNow.kv())).hasSize(60);
    assertThat(snapshotBytes(restarted.kv())).isEqualTo(snapshotBytes(leaderNow.kv()));
    // and it keeps up from the log afterwards
    put("after", "x");
    await().atMost(WAIT).until(() -> restarted.kv().get("after").entry().isPresent());
  }

  /** One server that wrote enough for a snapshot, then stopped; returns its log dir. */
  Path singleServerWithSnapshot() {
    Server s = start("solo", Set.of("solo"));
    for (int i = 0; i < 80; i++) {
      put("k" + i, "v" + i);
    }
    await().atMost(WAIT).until(() -> state(s).snapshotIndex() > 0);
    stop(s);
    return logDir(dir.resolve("solo"));
  }

  static Map<String, byte[]> segments(Path logDir) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> files = Files.list(logDir)) {
      for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".wal")).toList()) {
        out.put(f.getFileName().toString(), Files.readAllBytes(f));
      }
    }
    return out;
  }

  static Path snapshotFile(Path logDir) throws IOException {
    try (Stream<Path> files = Files.list(logDir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".snap")).findFirst().orElseThrow();
    }
  }

  /**
   * (d) A flipped byte in the snapshot file: the start fails with one line naming the file, and the
   * log segments and the snapshot file are left exactly as they were.
   */
  @Test
  void aDamagedSnapshotFileStopsTheStartWithOneLineNamingIt() throws IOException {
    Path logDir = singleServerWithSnapshot();
    Path snap = snapshotFile(logDir);
    byte[] bytes = Files.readAllBytes(snap);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(snap, bytes);
    Map<String, byte[]> before = segments(logDir);

    assertThatThrownBy(() -> start("solo", Set.of("solo")))
        .isInstanceOf(StartException.class)
        .hasMessageContaining(snap.toString())
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    assertThat(segments(logDir)).containsOnlyKeys(before.keySet().toArray(String[]::new));
    before.forEach((name, content) -> assertThat(logDir.resolve(name)).hasBinaryContent(content));
    assertThat(snap).hasBinaryContent(bytes);
  }

  /**
   * (d) A snapshot file that is intact (its CRC matches) but holds bytes the KV store cannot read
   * (another format, say): one line naming the file and the KV store's reason; nothing changed.
   */
  @Test
  void aSnapshotTheStateMachineCannotReadStopsTheStartWithOneLine() throws IOException {
    Path logDir = singleServerWithSnapshot();
    Path snap = snapshotFile(logDir);
    Snapshot good = SnapshotFiles.read(snap);
    String name = snap.getFileName().toString();
    long seq = Long.parseLong(name.substring("snap-".length(), name.length() - ".snap".length()));
    Files.delete(snap);
    SnapshotFiles.write(logDir, seq, new Snapshot(good.index(), good.term(), good.configuration(),
        "not a KV snapshot".getBytes(StandardCharsets.UTF_8)));
    Map<String, byte[]> before = segments(logDir);

    assertThatThrownBy(() -> start("solo", Set.of("solo")))
        .isInstanceOf(StartException.class)
        .hasMessageContaining(snap.toString())
        .hasMessageContaining("does not restore the state machine")
        .hasMessageContaining("not a KV snapshot")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    before.forEach((file, content) -> assertThat(logDir.resolve(file)).hasBinaryContent(content));
    assertThat(snap).exists();
  }

  static Path logDir(Path dataDir) {
    return dataDir.resolve(RaftClusterRuntime.LOG_DIR);
  }
}
