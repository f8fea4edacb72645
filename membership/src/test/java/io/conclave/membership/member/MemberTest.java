package io.conclave.membership.member;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MemberTest {
  @Test
  void addressesParseHostPortAndBracketedV6() {
    assertThat(Address.parse("10.0.0.1:8521")).isEqualTo(new Address("10.0.0.1", 8521));
    assertThat(Address.parse("[::1]:8521")).isEqualTo(new Address("::1", 8521));
    assertThat(new Address("::1", 8521).toString()).isEqualTo("[::1]:8521");
    assertThatThrownBy(() -> Address.parse("nohost")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Address.parse("h:70000")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Address.parse("h:x")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void membersRejectWhatTheWireWouldDrop() {
    Address a = new Address("h", 1);
    assertThatThrownBy(() -> new Member("", a, Map.of(), 0, MemberState.ALIVE))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Member("é".repeat(65), a, Map.of(), 0, MemberState.ALIVE))
        .hasMessageContaining("130 UTF-8 bytes");
    assertThatThrownBy(() -> new Member("n", a, Map.of("k", "v".repeat(513)), 0, MemberState.ALIVE))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Member("n", a, Map.of(), -1, MemberState.ALIVE))
        .isInstanceOf(IllegalArgumentException.class);
    Member m = new Member("n", a, Map.of("role", "server", "a", "1"), 0, MemberState.ALIVE);
    assertThat(m.tags().keySet()).containsExactly("a", "role");
    assertThat(m.role()).isEqualTo("server");
  }
}
