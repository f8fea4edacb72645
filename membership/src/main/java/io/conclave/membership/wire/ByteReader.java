package io.conclave.membership.wire;

import java.nio.charset.StandardCharsets;

/**
 * Bounds-checked reads over untrusted bytes. Every length is checked against the bytes that remain
 * (and a hard cap) before anything is allocated, so a forged length cannot make us allocate.
 */
final class ByteReader {
  private final byte[] bytes;
  private int pos;
  private final int limit;

  ByteReader(byte[] bytes, int offset, int limit) {
    this.bytes = bytes;
    this.pos = offset;
    this.limit = limit;
  }

  int position() {
    return pos;
  }

  int remaining() {
    return limit - pos;
  }

  void skip(int n) throws DecodeException {
    need(n);
    pos += n;
  }

  int u8() throws DecodeException {
    need(1);
    return bytes[pos++] & 0xFF;
  }

  int u16() throws DecodeException {
    need(2);
    int v = ((bytes[pos] & 0xFF) << 8) | (bytes[pos + 1] & 0xFF);
    pos += 2;
    return v;
  }

  /** Unsigned LEB128 that must fit in a non-negative long. */
  long varlong() throws DecodeException {
    long v = 0;
    for (int shift = 0; shift < 63; shift += 7) {
      int b = u8();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new DecodeException(DropReason.BAD_FIELD); // 10th byte would overflow 63 bits
  }

  int varint(int max) throws DecodeException {
    long v = varlong();
    if (v > max) {
      throw new DecodeException(DropReason.BAD_FIELD);
    }
    return (int) v;
  }

  String string(int maxBytes, boolean allowEmpty) throws DecodeException {
    int len = varint(maxBytes);
    need(len);
    if (len == 0 && !allowEmpty) {
      throw new DecodeException(DropReason.BAD_FIELD);
    }
    String s = new String(bytes, pos, len, StandardCharsets.UTF_8);
    pos += len;
    return s;
  }

  private void need(int n) throws DecodeException {
    if (n > limit - pos) {
      throw new DecodeException(DropReason.TRUNCATED);
    }
  }
}
