package io.conclave.cli;

/**
 * A failure the user sees as one line on standard error ({@code conclave: <message>}), with the
 * exit code the command ends with. Thrown anywhere below a command; {@link Cli} prints it.
 */
public final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  public CliException(int exitCode, String message) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }

  /** A request the daemon refused or failed (its status and plain-text reason); exit 1. */
  public static CliException failed(String message) {
    return new CliException(ExitCodes.FAILED, message);
  }
}
