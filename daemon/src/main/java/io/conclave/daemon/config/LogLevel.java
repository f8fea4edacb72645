package io.conclave.daemon.config;

import java.util.Locale;
import java.util.Optional;

/** The levels `--log-level` accepts (SPEC: error, warn, info, debug). */
public enum LogLevel {
  ERROR, WARN, INFO, DEBUG;

  /** The lower-case name users type. */
  public String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a user's value, case-insensitively; empty when it is not one of the four. */
  public static Optional<LogLevel> parse(String text) {
    for (LogLevel level : values()) {
      if (level.flagValue().equalsIgnoreCase(text.trim())) {
        return Optional.of(level);
      }
    }
    return Optional.empty();
  }
}
