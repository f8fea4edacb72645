package io.conclave.daemon.kv;

import java.util.List;
import java.util.Objects;

/**
 * What applying one command answered. {@code index} is the store's index after the command (the
 * Raft index of the entry if it changed anything), for the {@code X-Consul-Index} of the reply.
 */
public sealed interface KvResult {
  long index();

  /** set, cas, delete, delete-cas, delete-tree, reap: Consul's {@code true}/{@code false}. */
  record Bool(boolean ok, long index) implements KvResult {}

  /**
   * A transaction: applied ({@code errors} empty, {@code results} as Consul's Results) or rolled
   * back ({@code errors} non-empty, {@code results} empty).
   */
  record Txn(List<KvEntry> results, List<TxnError> errors, long index) implements KvResult {
    public Txn {
      results = List.copyOf(results);
      errors = List.copyOf(errors);
    }

    public boolean applied() {
      return errors.isEmpty();
    }
  }

  /**
   * The command was not applied: malformed bytes, an unknown version, or a request id too old to
   * tell whether it was applied before. The store is unchanged.
   */
  record Rejected(String reason, long index) implements KvResult {
    public Rejected {
      Objects.requireNonNull(reason);
    }
  }

  /** Consul's {@code {"OpIndex":i,"What":"..."}}. */
  record TxnError(int opIndex, String what) {}
}
