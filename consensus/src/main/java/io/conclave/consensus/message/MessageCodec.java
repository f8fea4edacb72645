package io.conclave.consensus.message;

import io.conclave.consensus.log.Entry;
import io.conclave.consensus.log.EntryType;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The wire encoding of every Raft {@link Message}: what one Raft frame carries between servers.
 * Pure: no IO, no state.
 *
 * <p>Format (version 1): {@code [version u8 = 1][type u8][from][to][term][type-specific fields]}.
 * Integers are zig-zag LEB128 varints (small non-negative values, the common case, take one byte);
 * booleans are packed into one flags byte; strings are a varint byte length plus UTF-8; byte arrays
 * a varint length plus the bytes. An {@link AppendEntries} carries its entries as a varint count,
 * then per entry: index as a delta from the previous entry's index + 1 (0 for contiguous entries),
 * term, type code, data. Type codes are part of the wire format: never renumber them.
 *
 * <p>Decoding treats its input as hostile: any byte sequence gives either a message or a
 * {@link Malformed} with the reason, never an exception; no allocation is sized by a length read
 * from the input unless that length fits both the bytes that remain and a cap
 * ({@link #ID_BYTES_MAX}, {@link #ENTRIES_MAX}, and the input length for byte arrays).
 */
public final class MessageCodec {
  /** The encoding version written by {@link #encode}; decoding refuses any other. */
  public static final int VERSION = 1;
  /** Largest member id, in UTF-8 bytes, as the configuration encoding allows. */
  public static final int ID_BYTES_MAX = 1024;
  /** Most entries in one AppendEntries. */
  public static final int ENTRIES_MAX = 1 << 20;

  // Message type codes: part of the wire format.
  static final int APPEND_ENTRIES = 1;
  static final int APPEND_ENTRIES_RESPONSE = 2;
  static final int HEARTBEAT = 3;
  static final int HEARTBEAT_RESPONSE = 4;
  static final int REQUEST_VOTE = 5;
  static final int REQUEST_VOTE_RESPONSE = 6;
  static final int TIMEOUT_NOW = 7;
  static final int READ_INDEX_REQUEST = 8;
  static final int READ_INDEX_RESPONSE = 9;
  static final int INSTALL_SNAPSHOT = 10;
  static final int INSTALL_SNAPSHOT_RESPONSE = 11;

  private MessageCodec() {}

  /** What {@link #decode} found. */
  public sealed interface Result permits Decoded, Malformed {}

  /** A well-formed message. */
  public record Decoded(Message message) implements Result {}

  /** Not a message of this codec; {@code reason} is short and stable enough to be a metric tag. */
  public record Malformed(String reason, String detail) implements Result {}

  // ---------------------------------------------------------------------------------------------
  // Encoding

  /**
   * The wire bytes of {@code m}, in an array of exactly their length: one pass counts them, the
   * second writes them (an AppendEntries is mostly its entries' data, copied once).
   */
  public static byte[] encode(Message m) {
    Objects.requireNonNull(m, "message");
    Writer counter = new Writer(null);
    write(counter, m);
    Writer w = new Writer(new byte[counter.pos]);
    write(w, m);
    return w.buf;
  }

  private static void write(Writer w, Message m) {
    w.u8(VERSION);
    w.u8(typeCode(m));
    w.string(m.from());
    w.string(m.to());
    w.varlong(m.term());
    if (m instanceof AppendEntries a) {
      w.varlong(a.prevLogIndex());
      w.varlong(a.prevLogTerm());
      w.varlong(a.leaderCommit());
      w.varlong(a.entries().size());
      long expected = a.prevLogIndex() + 1;
      for (Entry e : a.entries()) {
        w.varlong(e.index() - expected);
        w.varlong(e.term());
        w.u8(e.type().code());
        w.bytes(e.data());
        expected = e.index() + 1;
      }
    } else if (m instanceof AppendEntriesResponse r) {
      w.u8(r.success() ? 1 : 0);
      w.varlong(r.index());
      w.varlong(r.conflictIndex());
      w.varlong(r.conflictTerm());
    } else if (m instanceof Heartbeat h) {
      w.varlong(h.commit());
      w.varlong(h.round());
    } else if (m instanceof HeartbeatResponse h) {
      w.varlong(h.round());
    } else if (m instanceof RequestVote v) {
      w.varlong(v.lastLogIndex());
      w.varlong(v.lastLogTerm());
      w.u8((v.preVote() ? 1 : 0) | (v.transfer() ? 2 : 0));
    } else if (m instanceof RequestVoteResponse v) {
      w.u8((v.granted() ? 1 : 0) | (v.preVote() ? 2 : 0));
    } else if (m instanceof TimeoutNow) {
      // nothing beyond the header
    } else if (m instanceof ReadIndexRequest r) {
      w.varlong(r.requestId());
    } else if (m instanceof ReadIndexResponse r) {
      w.varlong(r.requestId());
      w.varlong(r.index());
    } else if (m instanceof InstallSnapshot s) {
      w.varlong(s.index());
      w.varlong(s.snapshotTerm());
      w.bytes(s.configuration());
      w.varlong(s.totalBytes());
      w.varlong(s.offset());
      w.bytes(s.chunk());
    } else if (m instanceof InstallSnapshotResponse r) {
      w.varlong(r.index());
      w.varlong(r.nextOffset());
      w.u8(r.done() ? 1 : 0);
    } else {
      throw new IllegalArgumentException("no wire code for " + m.getClass().getName());
    }
  }

  private static int typeCode(Message m) {
    if (m instanceof AppendEntries) return APPEND_ENTRIES;
    if (m instanceof AppendEntriesResponse) return APPEND_ENTRIES_RESPONSE;
    if (m instanceof Heartbeat) return HEARTBEAT;
    if (m instanceof HeartbeatResponse) return HEARTBEAT_RESPONSE;
    if (m instanceof RequestVote) return REQUEST_VOTE;
    if (m instanceof RequestVoteResponse) return REQUEST_VOTE_RESPONSE;
    if (m instanceof TimeoutNow) return TIMEOUT_NOW;
    if (m instanceof ReadIndexRequest) return READ_INDEX_REQUEST;
    if (m instanceof ReadIndexResponse) return READ_INDEX_RESPONSE;
    if (m instanceof InstallSnapshot) return INSTALL_SNAPSHOT;
    if (m instanceof InstallSnapshotResponse) return INSTALL_SNAPSHOT_RESPONSE;
    throw new IllegalArgumentException("no wire code for " + m.getClass().getName());
  }


  // ---------------------------------------------------------------------------------------------
  // Decoding

  /** Decodes one message from all of {@code bytes}; never throws. */
  public static Result decode(byte[] bytes) {
    if (bytes == null || bytes.length == 0) return malformed("empty", "no bytes");
    Reader r = new Reader(bytes);
    try {
      int version = r.u8();
      if (version != VERSION) return malformed("bad_version", "version " + version);
      int type = r.u8();
      String from = r.string();
      String to = r.string();
      long term = r.varlong();
      Message m = switch (type) {
        case APPEND_ENTRIES -> appendEntries(r, from, to, term);
        case APPEND_ENTRIES_RESPONSE -> new AppendEntriesResponse(from, to, term, r.bool(r.u8()),
            r.varlong(), r.varlong(), r.varlong());
        case HEARTBEAT -> new Heartbeat(from, to, term, r.varlong(), r.varlong());
        case HEARTBEAT_RESPONSE -> new HeartbeatResponse(from, to, term, r.varlong());
        case REQUEST_VOTE -> {
          long lastIndex = r.varlong();
          long lastTerm = r.varlong();
          int flags = r.flags(3);
          yield new RequestVote(from, to, term, lastIndex, lastTerm, (flags & 1) != 0, (flags & 2) != 0);
        }
        case REQUEST_VOTE_RESPONSE -> {
          int flags = r.flags(3);
          yield new RequestVoteResponse(from, to, term, (flags & 1) != 0, (flags & 2) != 0);
        }
        case TIMEOUT_NOW -> new TimeoutNow(from, to, term);
        case READ_INDEX_REQUEST -> new ReadIndexRequest(from, to, term, r.varlong());
        case READ_INDEX_RESPONSE -> new ReadIndexResponse(from, to, term, r.varlong(), r.varlong());
        case INSTALL_SNAPSHOT -> installSnapshot(r, from, to, term);
        case INSTALL_SNAPSHOT_RESPONSE -> new InstallSnapshotResponse(from, to, term, r.varlong(),
            r.varlong(), r.bool(r.u8()));
        default -> throw new Bad("unknown_type", "type " + type);
      };
      if (r.remaining() != 0) return malformed("trailing_bytes", r.remaining() + " bytes after the message");
      return new Decoded(m);
    } catch (Bad e) {
      return malformed(e.reason, e.getMessage());
    } catch (RuntimeException e) {
      // a record constructor refused a value (e.g. an entry index < 1)
      return malformed("invalid_field", String.valueOf(e.getMessage()));
    }
  }

  private static Message appendEntries(Reader r, String from, String to, long term) {
    long prevIndex = r.nonNegative(r.varlong(), "prevLogIndex");
    long prevTerm = r.nonNegative(r.varlong(), "prevLogTerm");
    long commit = r.nonNegative(r.varlong(), "leaderCommit");
    long count = r.varlong();
    // each entry takes at least 4 bytes (index delta, term, type, data length)
    if (count < 0 || count > ENTRIES_MAX || count > r.remaining() / 4) {
      throw new Bad("bad_length", "entry count " + count + " with " + r.remaining() + " bytes left");
    }
    List<Entry> entries = new ArrayList<>((int) count);
    long expected = prevIndex + 1;
    for (long i = 0; i < count; i++) {
      long index = expected + r.varlong();
      long entryTerm = r.varlong();
      int code = r.u8();
      EntryType type = EntryType.fromCode(code);
      if (type == null) throw new Bad("bad_entry_type", "entry type " + code);
      byte[] data = r.bytes();
      entries.add(new Entry(index, entryTerm, type, data));
      expected = index + 1;
    }
    return new AppendEntries(from, to, term, prevIndex, prevTerm, entries, commit);
  }

  private static Message installSnapshot(Reader r, String from, String to, long term) {
    long index = r.varlong();
    long snapshotTerm = r.varlong();
    byte[] configuration = r.bytes();
    long total = r.nonNegative(r.varlong(), "totalBytes");
    long offset = r.nonNegative(r.varlong(), "offset");
    byte[] chunk = r.bytes();
    return new InstallSnapshot(from, to, term, index, snapshotTerm, configuration, total, offset, chunk);
  }

  private static Malformed malformed(String reason, String detail) {
    return new Malformed(reason, detail);
  }

  /** A decoding failure inside the reader; caught in {@link #decode}. Stackless: it is common. */
  private static final class Bad extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String reason;

    Bad(String reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  private static final class Reader {
    private final byte[] in;
    private int pos;

    Reader(byte[] in) {
      this.in = in;
    }

    int remaining() {
      return in.length - pos;
    }

    int u8() {
      if (pos >= in.length) throw new Bad("truncated", "ends at byte " + pos);
      return in[pos++] & 0xff;
    }

    boolean bool(int b) {
      if (b > 1) throw new Bad("bad_flags", "boolean " + b);
      return b == 1;
    }

    int flags(int allowed) {
      int b = u8();
      if ((b & ~allowed) != 0) throw new Bad("bad_flags", "flags " + b);
      return b;
    }

    long varlong() {
      long raw = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        int b = u8();
        if (shift == 63 && (b & 0x7e) != 0) throw new Bad("bad_varint", "varint overflows 64 bits at byte " + pos);
        raw |= (long) (b & 0x7f) << shift;
        if ((b & 0x80) == 0) return (raw >>> 1) ^ -(raw & 1);
      }
      throw new Bad("bad_varint", "varint longer than 10 bytes at byte " + pos);
    }

    long nonNegative(long v, String field) {
      if (v < 0) throw new Bad("invalid_field", field + " " + v + " < 0");
      return v;
    }

    int length(int cap) {
      long n = varlong();
      if (n < 0 || n > cap || n > remaining()) {
        throw new Bad("bad_length", "length " + n + " with " + remaining() + " bytes left");
      }
      return (int) n;
    }

    byte[] bytes() {
      int n = length(Integer.MAX_VALUE);
      byte[] out = new byte[n];
      System.arraycopy(in, pos, out, 0, n);
      pos += n;
      return out;
    }

    String string() {
      int n = length(ID_BYTES_MAX);
      try {
        String s = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(java.nio.ByteBuffer.wrap(in, pos, n))
            .toString();
        pos += n;
        return s;
      } catch (CharacterCodingException e) {
        throw new Bad("bad_utf8", "invalid UTF-8 in an id at byte " + pos);
      }
    }
  }

  /** Writes into {@code buf}, or with {@code buf == null} only counts the bytes it would write. */
  private static final class Writer {
    private final byte[] buf;
    private int pos;

    Writer(byte[] buf) {
      this.buf = buf;
    }

    void u8(int b) {
      if (buf != null) buf[pos] = (byte) b;
      pos++;
    }

    void varlong(long v) {
      long z = (v << 1) ^ (v >> 63);
      while ((z & ~0x7fL) != 0) {
        u8((int) ((z & 0x7f) | 0x80));
        z >>>= 7;
      }
      u8((int) z);
    }

    void bytes(byte[] b) {
      varlong(b.length);
      if (buf != null) System.arraycopy(b, 0, buf, pos, b.length);
      pos += b.length;
    }

    void string(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      if (b.length > ID_BYTES_MAX) {
        throw new IllegalArgumentException("id of " + b.length + " bytes exceeds " + ID_BYTES_MAX);
      }
      bytes(b);
    }
  }
}
