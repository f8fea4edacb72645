package io.conclave.daemon.kv.lincheck;

import java.util.List;
import java.util.Objects;

/** One KV key as a register: absent or a value; read, write (null = delete), compare-and-set by value. */
public final class RegisterModel implements Model<RegisterModel.State> {
  /** The key's value, null when absent. */
  public record State(String value) {}

  private static final State ABSENT = new State(null);

  @Override
  public State initial() {
    return ABSENT;
  }

  @Override
  public List<State> step(State state, Operation op) {
    switch (op.kind()) {
      case READ:
        return !op.known() || Objects.equals(state.value(), op.output()) ? List.of(state) : List.of();
      case WRITE:
        return List.of(new State(op.value()));
      case CAS: {
        boolean matches = Objects.equals(state.value(), op.expected());
        if (!op.known()) {
          return List.of(matches ? new State(op.value()) : state);
        }
        if (op.ok()) {
          return matches ? List.of(new State(op.value())) : List.of();
        }
        return matches ? List.of() : List.of(state);
      }
      default:
        throw new IllegalStateException("unknown kind " + op.kind());
    }
  }
}
