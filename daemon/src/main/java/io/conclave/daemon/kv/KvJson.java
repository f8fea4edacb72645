package io.conclave.daemon.kv;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;

/**
 * Consul's JSON shapes, written field by field so the order is Go's ({@code structs.DirEntry}:
 * LockIndex, Key, Flags, Value, CreateIndex, ModifyIndex; Session omitted as Go's omitempty) and
 * uint64 fields print unsigned.
 */
final class KvJson {
  private static final JsonFactory FACTORY = new JsonFactory();

  private KvJson() {}

  interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  static byte[] render(Body body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static byte[] entries(List<KvEntry> entries) {
    return render(g -> {
      g.writeStartArray();
      for (KvEntry e : entries) {
        entry(g, e);
      }
      g.writeEndArray();
    });
  }

  static byte[] strings(List<String> names) {
    return render(g -> {
      g.writeStartArray();
      for (String n : names) {
        g.writeString(n);
      }
      g.writeEndArray();
    });
  }

  static byte[] bool(boolean b) {
    return (b ? "true" : "false").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  static void entry(JsonGenerator g, KvEntry e) throws IOException {
    g.writeStartObject();
    g.writeNumberField("LockIndex", e.lockIndex());
    g.writeStringField("Key", e.key());
    g.writeFieldName("Flags");
    g.writeNumber(Long.toUnsignedString(e.flags()));
    g.writeFieldName("Value");
    if (e.value() == null || e.value().length == 0) {
      g.writeNull();
    } else {
      g.writeString(Base64.getEncoder().encodeToString(e.value()));
    }
    g.writeNumberField("CreateIndex", e.createIndex());
    g.writeNumberField("ModifyIndex", e.modifyIndex());
    g.writeEndObject();
  }

  /** {@code {"Results":[{"KV":{...}}],"Errors":null}} or {@code {"Results":null,"Errors":[{"OpIndex","What"}]}}. */
  static byte[] txn(KvResult.Txn t) {
    return render(g -> {
      g.writeStartObject();
      g.writeFieldName("Results");
      if (t.results().isEmpty()) {
        g.writeNull();
      } else {
        g.writeStartArray();
        for (KvEntry e : t.results()) {
          g.writeStartObject();
          g.writeFieldName("KV");
          entry(g, e);
          g.writeEndObject();
        }
        g.writeEndArray();
      }
      g.writeFieldName("Errors");
      if (t.errors().isEmpty()) {
        g.writeNull();
      } else {
        g.writeStartArray();
        for (KvResult.TxnError e : t.errors()) {
          g.writeStartObject();
          g.writeNumberField("OpIndex", e.opIndex());
          g.writeStringField("What", e.what());
          g.writeEndObject();
        }
        g.writeEndArray();
      }
      g.writeEndObject();
    });
  }
}
