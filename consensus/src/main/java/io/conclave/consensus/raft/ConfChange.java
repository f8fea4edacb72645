package io.conclave.consensus.raft;

import java.util.Objects;

/** One step of a membership change (dissertation §4.1: one server at a time). */
public record ConfChange(Type type, String member) {
  public enum Type {
    /** Add a non-voting member that receives the log. */
    ADD_LEARNER,
    /** Make a learner a voter. */
    PROMOTE,
    /** Remove a voter or a learner (may be the leader itself: it steps down once this commits). */
    REMOVE
  }

  public ConfChange {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(member, "member");
  }

  public static ConfChange addLearner(String id) {
    return new ConfChange(Type.ADD_LEARNER, id);
  }

  public static ConfChange promote(String id) {
    return new ConfChange(Type.PROMOTE, id);
  }

  public static ConfChange remove(String id) {
    return new ConfChange(Type.REMOVE, id);
  }
}
