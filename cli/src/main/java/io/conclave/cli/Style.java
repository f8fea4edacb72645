package io.conclave.cli;

import java.util.Map;

/**
 * ANSI colours, on only when standard output is a terminal and the user did not opt out.
 *
 * <p>Rules (https://no-color.org): colour when {@code System.console() != null} (stdout and stdin are
 * a terminal), {@code NO_COLOR} is unset or empty, and {@code TERM} is not {@code dumb}. Piped or
 * redirected output never carries escape codes, so scripts and {@code grep} see plain text.
 */
public final class Style {
  static final String RESET = "\u001b[0m";
  static final String GREEN = "\u001b[32m";
  static final String YELLOW = "\u001b[33m";
  static final String RED = "\u001b[31m";
  static final String DIM = "\u001b[2m";

  private final boolean enabled;

  public Style(boolean enabled) {
    this.enabled = enabled;
  }

  /** The decision for a process with this environment and terminal. */
  public static Style detect(Map<String, String> env, boolean terminal) {
    String noColor = env.get("NO_COLOR");
    boolean optedOut = noColor != null && !noColor.isEmpty();
    return new Style(terminal && !optedOut && !"dumb".equals(env.get("TERM")));
  }

  public boolean enabled() {
    return enabled;
  }

  /** The ANSI code for a member state or health status word; null for none. */
  public String colourOf(String status) {
    if (!enabled) {
      return null;
    }
    switch (status) {
      case "alive":
      case "passing":
      case "leader":
        return GREEN;
      case "suspect":
      case "leaving":
      case "warning":
        return YELLOW;
      case "failed":
      case "critical":
        return RED;
      case "left":
        return DIM;
      default:
        return null;
    }
  }

  /** {@code text} in the colour of {@code status} (see {@link #colourOf}), or as it is. */
  public String status(String text) {
    String code = colourOf(text);
    return code == null ? text : code + text + RESET;
  }
}
