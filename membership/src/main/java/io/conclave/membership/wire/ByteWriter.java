package io.conclave.membership.wire;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte buffer for encoding. Encoding trusts its input (our own records). */
final class ByteWriter {
  private byte[] buf;
  private int size;

  ByteWriter(int initialCapacity) {
    buf = new byte[Math.max(16, initialCapacity)];
  }

  int size() {
    return size;
  }

  void u8(int v) {
    ensure(1);
    buf[size++] = (byte) v;
  }

  void u16(int v) {
    ensure(2);
    buf[size++] = (byte) (v >>> 8);
    buf[size++] = (byte) v;
  }

  void putU16At(int at, int v) {
    buf[at] = (byte) (v >>> 8);
    buf[at + 1] = (byte) v;
  }

  void varlong(long v) {
    if (v < 0) {
      throw new IllegalArgumentException("negative varlong " + v);
    }
    while ((v & ~0x7FL) != 0) {
      u8((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    u8((int) v);
  }

  void string(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    varlong(b.length);
    bytes(b);
  }

  void bytes(byte[] b) {
    ensure(b.length);
    System.arraycopy(b, 0, buf, size, b.length);
    size += b.length;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, size);
  }

  private void ensure(int n) {
    if (size + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
    }
  }
}
