package io.conclave.daemon.config;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;

/**
 * The gossip key of `--encrypt`: exactly 32 bytes (AES-256). The bytes never appear in
 * {@link #toString()}, so logging a config cannot leak the key.
 */
public final class EncryptKey {
  public static final int KEY_BYTES = 32;

  private final byte[] bytes;

  private EncryptKey(byte[] bytes) {
    this.bytes = bytes;
  }

  /** Wraps a copy of {@code bytes}; they must be exactly 32 bytes long. */
  public static EncryptKey of(byte[] bytes) {
    if (bytes.length != KEY_BYTES) {
      throw new IllegalArgumentException(
          "encrypt key is " + bytes.length + " bytes, must be " + KEY_BYTES);
    }
    return new EncryptKey(bytes.clone());
  }

  /** Decodes standard base64 (as `openssl rand -base64 32` prints); throws with a reason. */
  public static EncryptKey fromBase64(String text) {
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(text.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("encrypt key is not valid base64");
    }
    return of(decoded);
  }

  /** A copy of the key bytes. */
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof EncryptKey key && MessageDigest.isEqual(bytes, key.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "EncryptKey[redacted]";
  }
}
