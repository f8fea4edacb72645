package io.conclave.daemon.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The data directory, prepared at start: created if missing, checked writable, and locked so two
 * daemons never share one Raft log (the lock file {@code LOCK} is held until {@link #close()}).
 * Runs before Vert.x starts, on the main thread, so blocking IO is fine here.
 */
public final class DataDir implements AutoCloseable {
  static final String LOCK_FILE = "LOCK";

  private final Path path;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private DataDir(Path path, FileChannel lockChannel, FileLock lock) {
    this.path = path;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /** Creates, checks and locks {@code path}; throws {@link StartException} naming the cause. */
  public static DataDir open(Path path) {
    Path dir = path.toAbsolutePath().normalize();
    for (Path ancestor = dir; ancestor != null; ancestor = ancestor.getParent()) {
      if (Files.exists(ancestor) && !Files.isDirectory(ancestor)) {
        throw new StartException("data dir " + dir + ": " + ancestor + " is a file, not a directory");
      }
    }
    try {
      Files.createDirectories(dir);
    } catch (FileAlreadyExistsException e) {
      throw new StartException("data dir " + dir + ": " + e.getFile() + " exists and is not a directory");
    } catch (AccessDeniedException e) {
      throw new StartException("data dir " + dir + ": cannot create " + e.getFile() + ": permission denied");
    } catch (IOException e) {
      throw new StartException("data dir " + dir + ": cannot create: " + describe(e));
    }
    if (!Files.isReadable(dir) || !Files.isWritable(dir) || !Files.isExecutable(dir)) {
      throw new StartException("data dir " + dir + ": not readable and writable by this user");
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new StartException("data dir " + dir + ": cannot write " + LOCK_FILE + ": " + describe(e));
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (IOException | OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      closeQuietly(channel);
      throw new StartException("data dir " + dir + " is in use by another conclaved (" + LOCK_FILE + " is locked)");
    }
    return new DataDir(dir, channel, lock);
  }

  public Path path() {
    return path;
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // the channel close below releases it anyway
    }
    closeQuietly(lockChannel);
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing left to do at shutdown
    }
  }

  private static String describe(IOException e) {
    if (e instanceof NoSuchFileException n) {
      return "no such file " + n.getFile();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
