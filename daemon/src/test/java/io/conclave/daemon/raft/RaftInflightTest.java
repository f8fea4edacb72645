package io.conclave.daemon.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.conclave.consensus.raft.RaftConfig;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RaftInflightTest {
  private final RaftConfig base = RaftConfig.of("a", Set.of("a", "b", "c"));

  @Test
  void theDaemonKeepsOneAppendEntriesInFlightNotTheCoresDefault() {
    RaftConfig c = RaftClusterRuntime.withInflight(base, null);
    assertThat(c.maxInflightMsgs()).isEqualTo(RaftClusterRuntime.RAFT_INFLIGHT_DEFAULT).isEqualTo(1);
    assertThat(base.maxInflightMsgs()).isEqualTo(RaftConfig.DEFAULT_MAX_INFLIGHT_MSGS);
    assertThat(c.maxMsgBytes()).isEqualTo(base.maxMsgBytes());
  }

  @Test
  void theOverrideReplacesItAndBadValuesKeepTheDefault() {
    assertThat(RaftClusterRuntime.withInflight(base, "16").maxInflightMsgs()).isEqualTo(16);
    assertThat(RaftClusterRuntime.withInflight(base, " 2 ").maxInflightMsgs()).isEqualTo(2);
    assertThat(RaftClusterRuntime.withInflight(base, "0").maxInflightMsgs()).isEqualTo(1);
    assertThat(RaftClusterRuntime.withInflight(base, "-3").maxInflightMsgs()).isEqualTo(1);
    assertThat(RaftClusterRuntime.withInflight(base, "many").maxInflightMsgs()).isEqualTo(1);
  }
}
