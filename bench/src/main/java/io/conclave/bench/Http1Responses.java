package io.conclave.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An incremental HTTP/1.1 response parser for the load client: feed it the bytes a connection
 * receives, in any split, and it hands back each complete response (status, body, whether the
 * server closes the connection). Bodies are framed by {@code Content-Length} or by chunked
 * transfer encoding (trailers skipped); a response without either, or one that does not parse, is
 * an error. Only what a closed-loop client needs: no pipelining, no 1xx responses, no HEAD.
 */
final class Http1Responses {
  /** A complete response. */
  record Response(int status, byte[] body, boolean close) {
    boolean bodyEquals(byte[] expected) {
      return Arrays.equals(body, expected);
    }

    boolean bodyContains(byte[] needle) {
      return indexOf(body, body.length, needle, 0) >= 0;
    }
  }

  /** What came in does not parse as an HTTP/1.1 response. */
  static final class MalformedResponse extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedResponse(String message) {
      super(message, null, false, false);
    }
  }

  private static final byte[] HEADERS_END = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CRLF = "\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADERS_BYTES_MAX = 64 * 1024;

  private byte[] buf = new byte[4096];
  private int len;

  /** Appends received bytes; {@link #next} then yields the responses they complete. */
  void feed(byte[] bytes) {
    if (len + bytes.length > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
    }
    System.arraycopy(bytes, 0, buf, len, bytes.length);
    len += bytes.length;
  }

  /** Bytes received but not yet part of a returned response. */
  int buffered() {
    return len;
  }

  /** The next complete response, or null when more bytes are needed. */
  Response next() throws MalformedResponse {
    int headersEnd = indexOf(buf, len, HEADERS_END, 0);
    if (headersEnd < 0) {
      if (len > HEADERS_BYTES_MAX) {
        throw new MalformedResponse("no end of headers in " + len + " bytes");
      }
      return null;
    }
    if (len < 12 || !startsWith(buf, "HTTP/1.")) {
      throw new MalformedResponse("not an HTTP/1.x status line: " + printable(0, Math.min(len, 40)));
    }
    int status = digit(9) * 100 + digit(10) * 10 + digit(11);
    long contentLength = -1;
    boolean chunked = false;
    boolean close = buf[7] == '0'; // HTTP/1.0 closes unless told otherwise; we never ask it to
    int line = indexOf(buf, headersEnd + 2, CRLF, 0) + 2;
    while (line < headersEnd + 2) {
      int eol = indexOf(buf, headersEnd + 2, CRLF, line);
      int colon = indexOf(buf, eol, new byte[] {':'}, line);
      if (colon > line) {
        String name = new String(buf, line, colon - line, StandardCharsets.US_ASCII).trim();
        String value = new String(buf, colon + 1, eol - colon - 1, StandardCharsets.US_ASCII).trim();
        if (name.equalsIgnoreCase("content-length")) {
          try {
            contentLength = Long.parseLong(value);
          } catch (NumberFormatException e) {
            throw new MalformedResponse("bad Content-Length: " + value);
          }
        } else if (name.equalsIgnoreCase("transfer-encoding")) {
          chunked = value.toLowerCase(java.util.Locale.ROOT).contains("chunked");
        } else if (name.equalsIgnoreCase("connection")) {
          close = value.equalsIgnoreCase("close");
        }
      }
      line = eol + 2;
    }
    int bodyStart = headersEnd + 4;
    if (chunked) {
      return chunkedBody(status, close, bodyStart);
    }
    if (contentLength < 0) {
      throw new MalformedResponse("response " + status + " has neither Content-Length nor chunked encoding");
    }
    if (contentLength > Integer.MAX_VALUE - bodyStart) {
      throw new MalformedResponse("Content-Length " + contentLength + " too large");
    }
    int end = bodyStart + (int) contentLength;
    if (len < end) {
      return null;
    }
    byte[] body = Arrays.copyOfRange(buf, bodyStart, end);
    consume(end);
    return new Response(status, body, close);
  }

  private Response chunkedBody(int status, boolean close, int at) throws MalformedResponse {
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    int pos = at;
    while (true) {
      int eol = indexOf(buf, len, CRLF, pos);
      if (eol < 0) {
        return null;
      }
      String sizeLine = new String(buf, pos, eol - pos, StandardCharsets.US_ASCII);
      int semi = sizeLine.indexOf(';');
      int size;
      try {
        size = Integer.parseInt((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
      } catch (NumberFormatException e) {
        throw new MalformedResponse("bad chunk size: " + sizeLine);
      }
      if (size < 0) {
        throw new MalformedResponse("bad chunk size: " + sizeLine);
      }
      pos = eol + 2;
      if (size == 0) {
        // trailers, if any, end with an empty line
        while (true) {
          int tEol = indexOf(buf, len, CRLF, pos);
          if (tEol < 0) {
            return null;
          }
          boolean empty = tEol == pos;
          pos = tEol + 2;
          if (empty) {
            consume(pos);
            return new Response(status, body.toByteArray(), close);
          }
        }
      }
      if (len < pos + size + 2) {
        return null;
      }
      body.write(buf, pos, size);
      pos += size;
      if (buf[pos] != '\r' || buf[pos + 1] != '\n') {
        throw new MalformedResponse("chunk not followed by CRLF");
      }
      pos += 2;
    }
  }

  private void consume(int n) {
    System.arraycopy(buf, n, buf, 0, len - n);
    len -= n;
  }

  private int digit(int i) throws MalformedResponse {
    byte b = buf[i];
    if (b < '0' || b > '9') {
      throw new MalformedResponse("bad status code: " + printable(0, Math.min(len, 40)));
    }
    return b - '0';
  }

  private String printable(int from, int to) {
    return new String(buf, from, to - from, StandardCharsets.US_ASCII).replaceAll("[^ -~]", "?");
  }

  private static boolean startsWith(byte[] a, String prefix) {
    for (int i = 0; i < prefix.length(); i++) {
      if (a[i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** The first index at or after {@code from}, below {@code limit}, where {@code needle} starts; -1 if none. */
  static int indexOf(byte[] a, int limit, byte[] needle, int from) {
    outer:
    for (int i = from; i <= limit - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (a[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
