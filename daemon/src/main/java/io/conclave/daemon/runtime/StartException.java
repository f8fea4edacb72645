package io.conclave.daemon.runtime;

/** The daemon could not start; the message is the one line printed before the non-zero exit. */
public final class StartException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StartException(String message) {
    super(message, null, false, false);
  }
}
