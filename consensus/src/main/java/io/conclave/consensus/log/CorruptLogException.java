package io.conclave.consensus.log;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The durable log is damaged somewhere a crash cannot explain (not a torn tail), so the store refuses
 * to start rather than silently drop entries it may have acknowledged. The message names the file
 * and the byte offset of the first bad byte; an operator can inspect it there, restore the data dir
 * from a peer, or remove this server and add it back as a fresh one.
 */
public final class CorruptLogException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long offsetBytes;

  public CorruptLogException(Path file, long offsetBytes, String reason) {
    super("corrupt log " + file + " at byte " + offsetBytes + ": " + reason);
    this.file = file;
    this.offsetBytes = offsetBytes;
  }

  /** The segment file that holds the damage. */
  public Path file() {
    return file;
  }

  /** Offset from the start of {@link #file()} where the first invalid header or record begins. */
  public long offsetBytes() {
    return offsetBytes;
  }
}
