package io.conclave.daemon.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The cluster-wide override: any subset of fields over the local settings; bad input refused whole. */
class AutopilotSettingsTest {
  static byte[] json(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void overridesOnlyTheFieldsGiven() {
    AutopilotSettings base = AutopilotSettings.defaults();
    AutopilotSettings s = AutopilotSettings.parse(json("{\"cleanup_failed_ms\":5000,\"max_lag_entries\":7}"), base);
    assertThat(s.cleanupFailed()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.maxLagEntries()).isEqualTo(7);
    assertThat(s.stabilization()).isEqualTo(base.stabilization());
    assertThat(s.interval()).isEqualTo(base.interval());
  }

  @Test
  void badOverridesAreRefusedWithEveryProblemNamed() {
    AutopilotSettings base = AutopilotSettings.defaults();
    assertThatThrownBy(() -> AutopilotSettings.parse(json("{\"stabilization_ms\":-1,\"cleanup\":3,\"max_lag_entries\":\"x\"}"), base))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stabilization_ms").hasMessageContaining("unknown field cleanup")
        .hasMessageContaining("max_lag_entries");
    assertThatThrownBy(() -> AutopilotSettings.parse(json("nope"), base)).hasMessageStartingWith("not JSON");
    assertThatThrownBy(() -> AutopilotSettings.parse(json("[1]"), base)).hasMessage("not a JSON object");
  }
}
