package io.conclave.membership.wire;

import io.conclave.membership.member.Address;
import io.conclave.membership.member.Member;
import io.conclave.membership.member.MemberState;
import io.conclave.membership.wire.Message.Ack;
import io.conclave.membership.wire.Message.Alive;
import io.conclave.membership.wire.Message.Dead;
import io.conclave.membership.wire.Message.Leave;
import io.conclave.membership.wire.Message.Nack;
import io.conclave.membership.wire.Message.Ping;
import io.conclave.membership.wire.Message.PingReq;
import io.conclave.membership.wire.Message.PushPull;
import io.conclave.membership.wire.Message.Suspect;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The versioned binary wire format (version 1).
 *
 * <pre>
 * packet (UDP)  = VERSION_1 frame{1..255}            at most the configured packet size (1,400 B)
 * frame         = type:u8 length:u16 body[length]    one message
 * stream (TCP)  = VERSION_1 type:u8(=9) pushPullBody at most STREAM_BYTES_MAX
 * integers      = unsigned LEB128 varints; port and frame length are big-endian u16
 * string        = varint byte length, UTF-8 bytes
 * address       = host:string port:u16
 * tags          = count:varint (key:string value:string){count}
 * Ping          = seq target:string replyTo:address
 * Ack, Nack     = seq
 * PingReq       = seq target:string targetAddress:address origin:address
 * Suspect, Dead = incarnation name:string from:string
 * Alive         = incarnation name:string address tags
 * Leave         = incarnation name:string
 * PushPull      = from:string join:u8 count:varint member{count}
 * member        = name:string address tags incarnation state:u8
 * </pre>
 *
 * <p>Decoding never throws and never allocates more than the input could hold: every count and length
 * is checked against both a hard cap and the bytes that remain. A packet that fails anywhere is
 * dropped whole, with a {@link DropReason}.
 */
public final class Codec {
  /** First byte of every packet and stream: a marker nibble (0xC) and the format version (1). */
  public static final int VERSION_1 = 0xC1;
  /** Frame header: type byte and u16 length. */
  public static final int FRAME_OVERHEAD_BYTES = 3;
  /** The version byte at the start of a packet. */
  public static final int PACKET_OVERHEAD_BYTES = 1;
  public static final int MESSAGES_PER_PACKET_MAX = 255;
  /** Largest UDP payload we ever decode, whatever the configured send size. */
  public static final int PACKET_BYTES_MAX = 65_507;
  /** A push-pull stream of 100,000 members with modest tags fits well within this. */
  public static final int STREAM_BYTES_MAX = 64 * 1024 * 1024;
  public static final int STREAM_MEMBERS_MAX = 200_000;
  /** Smallest encoded member record: 1-byte name, 1-byte host, port, no tags, incarnation, state. */
  private static final int MEMBER_BYTES_MIN = 2 + 2 + 2 + 1 + 1 + 1;
  /** Smallest encoded tag: two empty strings. */
  private static final int TAG_BYTES_MIN = 2;

  private Codec() {}

  // ---------------------------------------------------------------- encoding

  /** One message as a frame, ready to be packed into a packet. */
  public static byte[] frame(Message m) {
    if (m instanceof PushPull) {
      throw new IllegalArgumentException("PushPull travels only as a stream");
    }
    ByteWriter w = new ByteWriter(64);
    w.u8(m.type());
    w.u16(0); // patched below
    if (m instanceof Ping p) {
      w.varlong(p.seq());
      w.string(p.target());
      address(w, p.replyTo());
    } else if (m instanceof Ack a) {
      w.varlong(a.seq());
    } else if (m instanceof Nack n) {
      w.varlong(n.seq());
    } else if (m instanceof PingReq r) {
      w.varlong(r.seq());
      w.string(r.target());
      address(w, r.targetAddress());
      address(w, r.origin());
    } else if (m instanceof Suspect s) {
      w.varlong(s.incarnation());
      w.string(s.name());
      w.string(s.from());
    } else if (m instanceof Alive a) {
      w.varlong(a.incarnation());
      w.string(a.name());
      address(w, a.address());
      tags(w, a.tags());
    } else if (m instanceof Dead d) {
      w.varlong(d.incarnation());
      w.string(d.name());
      w.string(d.from());
    } else if (m instanceof Leave l) {
      w.varlong(l.incarnation());
      w.string(l.name());
    }
    int body = w.size() - FRAME_OVERHEAD_BYTES;
    if (body > 0xFFFF) {
      throw new IllegalArgumentException("message body " + body + " bytes > 65535");
    }
    byte[] out = w.toByteArray();
    out[1] = (byte) (body >>> 8);
    out[2] = (byte) body;
    return out;
  }

  /** Packs frames into one packet. The caller keeps the total within its packet size. */
  public static byte[] packet(List<byte[]> frames) {
    if (frames.isEmpty() || frames.size() > MESSAGES_PER_PACKET_MAX) {
      throw new IllegalArgumentException("packet of " + frames.size() + " frames");
    }
    int size = PACKET_OVERHEAD_BYTES;
    for (byte[] f : frames) {
      size += f.length;
    }
    byte[] out = new byte[size];
    out[0] = (byte) VERSION_1;
    int at = PACKET_OVERHEAD_BYTES;
    for (byte[] f : frames) {
      System.arraycopy(f, 0, out, at, f.length);
      at += f.length;
    }
    return out;
  }

  /** Encodes one message as a packet of its own. */
  public static byte[] packet(Message m) {
    return packet(List.of(frame(m)));
  }

  public static byte[] stream(PushPull pp) {
    ByteWriter w = new ByteWriter(64 + pp.members().size() * 48);
    w.u8(VERSION_1);
    w.u8(pp.type());
    w.string(pp.from());
    w.u8(pp.join() ? 1 : 0);
    w.varlong(pp.members().size());
    for (Member m : pp.members()) {
      w.string(m.name());
      address(w, m.address());
      tags(w, m.tags());
      w.varlong(m.incarnation());
      w.u8(m.state().ordinal());
    }
    return w.toByteArray();
  }

  private static void address(ByteWriter w, Address a) {
    w.string(a.host());
    w.u16(a.port());
  }

  private static void tags(ByteWriter w, Map<String, String> tags) {
    w.varlong(tags.size());
    Map<String, String> sorted = tags instanceof java.util.SortedMap<String, String> sm
        && sm.comparator() == null ? tags : new java.util.TreeMap<>(tags); // deterministic bytes
    for (Map.Entry<String, String> e : sorted.entrySet()) {
      w.string(e.getKey());
      w.string(e.getValue());
    }
  }

  // ---------------------------------------------------------------- decoding

  /** Decodes a UDP packet: its messages, or why it was dropped. Never throws. */
  public static Decoded decodePacket(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      return new Decoded.Dropped(DropReason.EMPTY);
    }
    if (bytes.length > PACKET_BYTES_MAX) {
      return new Decoded.Dropped(DropReason.TOO_LARGE);
    }
    if ((bytes[0] & 0xFF) != VERSION_1) {
      return new Decoded.Dropped(DropReason.BAD_VERSION);
    }
    try {
      ByteReader r = new ByteReader(bytes, 1, bytes.length);
      List<Message> out = new ArrayList<>();
      if (r.remaining() == 0) {
        return new Decoded.Dropped(DropReason.TRUNCATED);
      }
      while (r.remaining() > 0) {
        if (out.size() == MESSAGES_PER_PACKET_MAX) {
          throw new DecodeException(DropReason.TOO_MANY);
        }
        int type = r.u8();
        int len = r.u16();
        if (len > r.remaining()) {
          throw new DecodeException(DropReason.TRUNCATED);
        }
        int end = r.position() + len;
        ByteReader body = new ByteReader(bytes, r.position(), end);
        out.add(message(type, body));
        if (body.remaining() != 0) {
          throw new DecodeException(DropReason.BAD_LENGTH);
        }
        skip(r, len);
      }
      return new Decoded.Messages(out);
    } catch (DecodeException e) {
      return new Decoded.Dropped(e.reason);
    }
  }

  /** Decodes a push-pull stream payload: one PushPull, or why it was dropped. Never throws. */
  public static Decoded decodeStream(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      return new Decoded.Dropped(DropReason.EMPTY);
    }
    if (bytes.length > STREAM_BYTES_MAX) {
      return new Decoded.Dropped(DropReason.TOO_LARGE);
    }
    if ((bytes[0] & 0xFF) != VERSION_1) {
      return new Decoded.Dropped(DropReason.BAD_VERSION);
    }
    try {
      ByteReader r = new ByteReader(bytes, 1, bytes.length);
      if (r.u8() != 9) {
        throw new DecodeException(DropReason.UNKNOWN_TYPE);
      }
      String from = name(r);
      int join = r.u8();
      if (join > 1) {
        throw new DecodeException(DropReason.BAD_FIELD);
      }
      int count = r.varint(STREAM_MEMBERS_MAX);
      if ((long) count * MEMBER_BYTES_MIN > r.remaining()) {
        throw new DecodeException(DropReason.TRUNCATED);
      }
      List<Member> members = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String name = name(r);
        Address address = address(r);
        Map<String, String> tags = tags(r);
        long incarnation = r.varlong();
        int state = r.u8();
        if (state >= MemberState.values().length) {
          throw new DecodeException(DropReason.BAD_FIELD);
        }
        members.add(new Member(name, address, tags, incarnation, MemberState.values()[state]));
      }
      if (r.remaining() != 0) {
        throw new DecodeException(DropReason.BAD_LENGTH);
      }
      return new Decoded.Messages(List.of(new PushPull(from, join == 1, members)));
    } catch (DecodeException e) {
      return new Decoded.Dropped(e.reason);
    }
  }

  private static Message message(int type, ByteReader r) throws DecodeException {
    return switch (type) {
      case 1 -> new Ping(r.varlong(), name(r), address(r));
      case 2 -> new Ack(r.varlong());
      case 3 -> new PingReq(r.varlong(), name(r), address(r), address(r));
      case 4 -> new Nack(r.varlong());
      case 5 -> new Suspect(r.varlong(), name(r), name(r));
      case 6 -> new Alive(r.varlong(), name(r), address(r), tags(r));
      case 7 -> new Dead(r.varlong(), name(r), name(r));
      case 8 -> new Leave(r.varlong(), name(r));
      default -> throw new DecodeException(DropReason.UNKNOWN_TYPE);
    };
  }

  private static void skip(ByteReader r, int len) throws DecodeException {
    r.skip(len);
  }

  private static String name(ByteReader r) throws DecodeException {
    return r.string(Member.NAME_BYTES_MAX, false);
  }

  private static Address address(ByteReader r) throws DecodeException {
    String host = r.string(Address.HOST_BYTES_MAX, false);
    int port = r.u16();
    return new Address(host, port); // host length <= 253 bytes, so <= 253 chars: cannot throw
  }

  private static Map<String, String> tags(ByteReader r) throws DecodeException {
    int count = r.varint(Member.TAGS_MAX);
    if ((long) count * TAG_BYTES_MIN > r.remaining()) {
      throw new DecodeException(DropReason.TRUNCATED);
    }
    Map<String, String> tags = new HashMap<>(count * 2);
    for (int i = 0; i < count; i++) {
      String key = r.string(Member.TAG_KEY_BYTES_MAX, true);
      String value = r.string(Member.TAG_VALUE_BYTES_MAX, true);
      if (tags.put(key, value) != null) {
        throw new DecodeException(DropReason.BAD_FIELD);
      }
    }
    return tags;
  }
}
