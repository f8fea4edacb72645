package io.conclave.daemon.kv;

import java.util.Objects;
import java.util.Optional;

/** A command and, for exactly-once application, the id of the request that carries it. */
public record KvRequest(Optional<RequestId> id, KvCommand command) {
  public KvRequest {
    Objects.requireNonNull(id);
    Objects.requireNonNull(command);
  }

  public static KvRequest of(KvCommand command) {
    return new KvRequest(Optional.empty(), command);
  }

  public static KvRequest of(RequestId id, KvCommand command) {
    return new KvRequest(Optional.of(id), command);
  }
}
