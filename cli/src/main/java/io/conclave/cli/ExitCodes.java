package io.conclave.cli;

/**
 * The exit codes of {@code conclave} (docs/cli.md). {@code health} follows the Nagios plugin
 * convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), so monitoring systems can run it as is.
 */
public final class ExitCodes {
  /** The command did what was asked; {@code health}: passing. */
  public static final int OK = 0;
  /** The daemon refused or failed the request (no leader, key absent, CAS lost, ...). */
  public static final int FAILED = 1;
  /** {@code health}: warning (HTTP 429). */
  public static final int WARNING = 1;
  /** {@code health}: critical (HTTP 503). */
  public static final int CRITICAL = 2;
  /** Bad arguments: picocli's usage error (it prints the message and the usage help). */
  public static final int USAGE = 2;
  /** The daemon could not be reached (refused, timed out, not HTTP); for every command. */
  public static final int UNREACHABLE = 3;

  private ExitCodes() {}
}
