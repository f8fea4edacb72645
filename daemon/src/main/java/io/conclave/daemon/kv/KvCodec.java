package io.conclave.daemon.kv;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The binary form of a {@link KvRequest} in a Raft log entry, and of a {@link KvResult} in a
 * snapshot's dedupe table. Big-endian throughout:
 *
 * <pre>
 * request  = version:u8 (1) | hasId:u8 (0|1) | [agent:str | seq:i64] | type:u8 | body
 * str      = length:u16 | UTF-8 bytes (well-formed, at most 65,535 bytes)
 * bytes    = length:i32 (-1 = null) | bytes
 * type 1 set          key:str flags:i64 value:bytes
 * type 2 cas          key:str flags:i64 index:i64 value:bytes
 * type 3 delete       key:str
 * type 4 delete-cas   key:str index:i64
 * type 5 delete-tree  prefix:str
 * type 6 txn          count:u8 (1..64) | count × (verb:u8 key:str flags:i64 index:i64 value:bytes)
 * type 7 reap         upToIndex:i64
 * </pre>
 *
 * Decoding checks every length against what is left and rejects trailing bytes, an unknown version,
 * type or verb: bad bytes are a {@link KvCodecException}, never an exception of another kind.
 */
public final class KvCodec {
  /** The version this code writes; decoding accepts exactly the versions listed in {@link #decode}. */
  public static final int VERSION = 1;
  /** Consul's limit on the operations of one transaction. */
  public static final int TXN_OPS_MAX = 64;
  /** A value bigger than this is refused by the decoder (the HTTP limit is 512 KiB; this is a sanity cap). */
  public static final int VALUE_BYTES_CAP = 16 * 1024 * 1024;

  private static final int SET = 1, CAS = 2, DELETE = 3, DELETE_CAS = 4, DELETE_TREE = 5, TXN = 6, REAP = 7;
  private static final int RESULT_BOOL = 1, RESULT_TXN = 2, RESULT_REJECTED = 3;

  private KvCodec() {}

  public static byte[] encode(KvRequest request) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(sizeHint(request.command()));
    DataOutputStream out = new DataOutputStream(bytes);
    try {
      out.writeByte(VERSION);
      out.writeByte(request.id().isPresent() ? 1 : 0);
      if (request.id().isPresent()) {
        writeString(out, request.id().get().agent());
        out.writeLong(request.id().get().seq());
      }
      writeCommand(out, request.command());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return bytes.toByteArray();
  }

  /** Enough for the usual command (an ASCII key, a value, the id), so the buffer does not grow. */
  private static int sizeHint(KvCommand command) {
    if (command instanceof KvCommand.Set c) {
      return 96 + c.key().length() + c.value().length;
    } else if (command instanceof KvCommand.Cas c) {
      return 104 + c.key().length() + c.value().length;
    }
    return 128;
  }

  private static void writeCommand(DataOutput out, KvCommand command) throws IOException {
    if (command instanceof KvCommand.Set c) {
      out.writeByte(SET);
      writeString(out, c.key());
      out.writeLong(c.flags());
      writeBytes(out, c.value());
    } else if (command instanceof KvCommand.Cas c) {
      out.writeByte(CAS);
      writeString(out, c.key());
      out.writeLong(c.flags());
      out.writeLong(c.index());
      writeBytes(out, c.value());
    } else if (command instanceof KvCommand.Delete c) {
      out.writeByte(DELETE);
      writeString(out, c.key());
    } else if (command instanceof KvCommand.DeleteCas c) {
      out.writeByte(DELETE_CAS);
      writeString(out, c.key());
      out.writeLong(c.index());
    } else if (command instanceof KvCommand.DeleteTree c) {
      out.writeByte(DELETE_TREE);
      writeString(out, c.prefix());
    } else if (command instanceof KvCommand.Txn c) {
      if (c.ops().isEmpty() || c.ops().size() > TXN_OPS_MAX) {
        throw new IllegalArgumentException("a transaction has 1.." + TXN_OPS_MAX + " operations, got " + c.ops().size());
      }
      out.writeByte(TXN);
      out.writeByte(c.ops().size());
      for (TxnOp op : c.ops()) {
        out.writeByte(op.verb().ordinal());
        writeString(out, op.key());
        out.writeLong(op.flags());
        out.writeLong(op.index());
        writeBytes(out, op.value());
      }
    } else if (command instanceof KvCommand.ReapTombstones c) {
      out.writeByte(REAP);
      out.writeLong(c.upToIndex());
    } else {
      throw new IllegalArgumentException("unknown command " + command);
    }
  }

  public static KvRequest decode(byte[] bytes) throws KvCodecException {
    if (bytes == null || bytes.length == 0) {
      throw new KvCodecException("empty command");
    }
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
    try {
      int version = in.readUnsignedByte();
      if (version != VERSION) {
        throw new KvCodecException("unknown command version " + version + " (this server reads " + VERSION + ")");
      }
      int hasId = in.readUnsignedByte();
      Optional<RequestId> id;
      if (hasId == 0) {
        id = Optional.empty();
      } else if (hasId == 1) {
        String agent = readString(in);
        long seq = in.readLong();
        if (agent.isEmpty() || seq <= 0) {
          throw new KvCodecException("bad request id " + agent + "/" + seq);
        }
        id = Optional.of(new RequestId(agent, seq));
      } else {
        throw new KvCodecException("bad id marker " + hasId);
      }
      KvCommand command = readCommand(in, bytes.length);
      if (in.available() > 0) {
        throw new KvCodecException(in.available() + " trailing bytes after the command");
      }
      return new KvRequest(id, command);
    } catch (EOFException e) {
      throw new KvCodecException("truncated command (" + bytes.length + " bytes)");
    } catch (IOException e) {
      throw new KvCodecException("unreadable command: " + e.getMessage(), e);
    }
  }

  private static KvCommand readCommand(DataInput in, int bytesMax) throws IOException, KvCodecException {
    int type = in.readUnsignedByte();
    switch (type) {
      case SET: {
        String key = readString(in);
        long flags = in.readLong();
        return new KvCommand.Set(key, nonNull(readBytes(in, bytesMax)), flags);
      }
      case CAS: {
        String key = readString(in);
        long flags = in.readLong();
        long index = in.readLong();
        return new KvCommand.Cas(key, nonNull(readBytes(in, bytesMax)), flags, index);
      }
      case DELETE:
        return new KvCommand.Delete(readString(in));
      case DELETE_CAS:
        return new KvCommand.DeleteCas(readString(in), in.readLong());
      case DELETE_TREE:
        return new KvCommand.DeleteTree(readString(in));
      case TXN: {
        int count = in.readUnsignedByte();
        if (count == 0 || count > TXN_OPS_MAX) {
          throw new KvCodecException("a transaction has 1.." + TXN_OPS_MAX + " operations, got " + count);
        }
        List<TxnOp> ops = new ArrayList<>(count);
        TxnOp.Verb[] verbs = TxnOp.Verb.values();
        for (int i = 0; i < count; i++) {
          int verb = in.readUnsignedByte();
          if (verb >= verbs.length) {
            throw new KvCodecException("unknown transaction verb " + verb + " in operation " + i);
          }
          String key = readString(in);
          long flags = in.readLong();
          long index = in.readLong();
          ops.add(new TxnOp(verbs[verb], key, readBytes(in, bytesMax), flags, index));
        }
        return new KvCommand.Txn(ops);
      }
      case REAP:
        return new KvCommand.ReapTombstones(in.readLong());
      default:
        throw new KvCodecException("unknown command type " + type);
    }
  }

  // ---- results (the dedupe table of a snapshot; a leader's answer to a forwarded write) ----

  public static byte[] encodeResult(KvResult result) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(64);
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      writeResult(out, result);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // a byte array does not fail
    }
    return bytes.toByteArray();
  }

  public static KvResult decodeResult(byte[] bytes) throws KvCodecException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
    try {
      KvResult r = readResult(in);
      if (in.available() > 0) {
        throw new KvCodecException(in.available() + " trailing bytes after the result");
      }
      return r;
    } catch (EOFException e) {
      throw new KvCodecException("truncated result (" + bytes.length + " bytes)");
    } catch (IOException e) {
      throw new KvCodecException("unreadable result: " + e.getMessage(), e);
    }
  }

  static void writeResult(DataOutput out, KvResult result) throws IOException {
    if (result instanceof KvResult.Bool b) {
      out.writeByte(RESULT_BOOL);
      out.writeBoolean(b.ok());
      out.writeLong(b.index());
    } else if (result instanceof KvResult.Txn t) {
      out.writeByte(RESULT_TXN);
      out.writeLong(t.index());
      out.writeShort(t.results().size());
      for (KvEntry e : t.results()) {
        writeEntry(out, e);
      }
      out.writeShort(t.errors().size());
      for (KvResult.TxnError e : t.errors()) {
        out.writeShort(e.opIndex());
        writeString(out, e.what());
      }
    } else if (result instanceof KvResult.Rejected r) {
      out.writeByte(RESULT_REJECTED);
      writeString(out, r.reason());
      out.writeLong(r.index());
    } else {
      throw new IllegalArgumentException("unknown result " + result);
    }
  }

  static KvResult readResult(DataInput in) throws IOException, KvCodecException {
    int type = in.readUnsignedByte();
    switch (type) {
      case RESULT_BOOL:
        return new KvResult.Bool(in.readBoolean(), in.readLong());
      case RESULT_TXN: {
        long index = in.readLong();
        int n = in.readUnsignedShort();
        List<KvEntry> results = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
          results.add(readEntry(in));
        }
        int m = in.readUnsignedShort();
        List<KvResult.TxnError> errors = new ArrayList<>(Math.min(m, 1024));
        for (int i = 0; i < m; i++) {
          errors.add(new KvResult.TxnError(in.readUnsignedShort(), readString(in)));
        }
        return new KvResult.Txn(results, errors, index);
      }
      case RESULT_REJECTED:
        return new KvResult.Rejected(readString(in), in.readLong());
      default:
        throw new KvCodecException("unknown result type " + type);
    }
  }

  // ---- shared pieces (snapshot entries too) ----

  static void writeEntry(DataOutput out, KvEntry e) throws IOException {
    writeString(out, e.key());
    writeBytes(out, e.value());
    out.writeLong(e.flags());
    out.writeLong(e.createIndex());
    out.writeLong(e.modifyIndex());
    out.writeLong(e.lockIndex());
  }

  static KvEntry readEntry(DataInput in) throws IOException, KvCodecException {
    String key = readString(in);
    byte[] value = readBytes(in, VALUE_BYTES_CAP);
    return new KvEntry(key, value, in.readLong(), in.readLong(), in.readLong(), in.readLong());
  }

  static void writeString(DataOutput out, String s) throws IOException {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > 0xFFFF) {
      throw new IllegalArgumentException("string of " + utf8.length + " bytes does not fit a u16 length");
    }
    out.writeShort(utf8.length);
    out.write(utf8);
  }

  static String readString(DataInput in) throws IOException, KvCodecException {
    int length = in.readUnsignedShort();
    byte[] utf8 = new byte[length];
    in.readFully(utf8);
    if (isAscii(utf8)) {
      return new String(utf8, StandardCharsets.US_ASCII); // keys almost always are: no decoder needed
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(utf8)).toString();
    } catch (CharacterCodingException e) {
      throw new KvCodecException("string of " + length + " bytes is not UTF-8");
    }
  }

  private static boolean isAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0) {
        return false;
      }
    }
    return true;
  }

  static void writeBytes(DataOutput out, byte[] value) throws IOException {
    if (value == null) {
      out.writeInt(-1);
      return;
    }
    out.writeInt(value.length);
    out.write(value);
  }

  /** Null for length -1; refuses a length above {@code lengthMax} before allocating it. */
  static byte[] readBytes(DataInput in, int lengthMax) throws IOException, KvCodecException {
    int length = in.readInt();
    if (length == -1) {
      return null;
    }
    if (length < 0 || length > Math.min(lengthMax, VALUE_BYTES_CAP)) {
      throw new KvCodecException("bad value length " + length);
    }
    byte[] value = new byte[length];
    in.readFully(value);
    return value;
  }

  private static byte[] nonNull(byte[] value) {
    return value == null ? new byte[0] : value;
  }
}
