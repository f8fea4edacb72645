package io.conclave.daemon.config;

import java.util.List;

/** The configuration is unusable; {@link #getMessage()} is one line naming every problem. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super("invalid configuration: " + String.join("; ", problems), null, false, false);
    this.problems = List.copyOf(problems);
  }

  /** Every problem found, in the order the flags and keys were checked. */
  public List<String> problems() {
    return problems;
  }
}
