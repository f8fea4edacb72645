package io.conclave.daemon.kv.lincheck;

import java.util.List;

/**
 * A sequential specification: the states an operation may lead to from a state, given what the
 * operation answered. Empty = the answer is impossible in that state. States must implement
 * equals/hashCode (they key the checker's memo).
 */
public interface Model<S> {
  S initial();

  List<S> step(S state, Operation op);
}
