package io.conclave.daemon.kv;

/** Bytes that are not a valid command, result or snapshot. */
public final class KvCodecException extends Exception {
  private static final long serialVersionUID = 1L;

  public KvCodecException(String message) {
    super(message);
  }

  public KvCodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
