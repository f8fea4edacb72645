package io.conclave.cli;

import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed JSON value, with the few lenient accessors the tables need ({@code path} never returns
 * null: a missing member is {@link #MISSING}). Immutable.
 *
 * <p>Why not Jackson: loading and initialising databind costs the CLI about 400 classes and a few
 * hundred ms of CPU per run, more than everything else it does for {@code members}; the daemon's
 * answers are small and well-formed, and {@link JsonParser} is a strict RFC 8259 reader.
 */
public final class JsonNode implements Iterable<JsonNode> {
  /** What {@link #path} answers for a member or element that is not there. */
  public static final JsonNode MISSING = new JsonNode(Kind.MISSING, null);
  static final JsonNode NULL = new JsonNode(Kind.NULL, null);
  static final JsonNode TRUE = new JsonNode(Kind.BOOLEAN, Boolean.TRUE);
  static final JsonNode FALSE = new JsonNode(Kind.BOOLEAN, Boolean.FALSE);

  enum Kind { OBJECT, ARRAY, STRING, NUMBER, BOOLEAN, NULL, MISSING }

  private final Kind kind;
  private final Object value; // Map<String,JsonNode>, List<JsonNode>, String (string or number text), Boolean

  private JsonNode(Kind kind, Object value) {
    this.kind = kind;
    this.value = value;
  }

  static JsonNode object(LinkedHashMap<String, JsonNode> members) {
    return new JsonNode(Kind.OBJECT, Collections.unmodifiableMap(members));
  }

  static JsonNode array(List<JsonNode> elements) {
    return new JsonNode(Kind.ARRAY, List.copyOf(elements));
  }

  static JsonNode string(String text) {
    return new JsonNode(Kind.STRING, text);
  }

  static JsonNode number(String text) {
    return new JsonNode(Kind.NUMBER, text);
  }

  /** The member {@code name} of an object; {@link #MISSING} otherwise. */
  @SuppressWarnings("unchecked")
  public JsonNode path(String name) {
    if (kind != Kind.OBJECT) {
      return MISSING;
    }
    return ((Map<String, JsonNode>) value).getOrDefault(name, MISSING);
  }

  /** The element {@code i} of an array; {@link #MISSING} otherwise. */
  @SuppressWarnings("unchecked")
  public JsonNode get(int i) {
    if (kind != Kind.ARRAY || i < 0 || i >= ((List<JsonNode>) value).size()) {
      return MISSING;
    }
    return ((List<JsonNode>) value).get(i);
  }

  /** An array's elements, or an object's values; nothing for anything else. */
  @Override
  @SuppressWarnings("unchecked")
  public Iterator<JsonNode> iterator() {
    if (kind == Kind.ARRAY) {
      return ((List<JsonNode>) value).iterator();
    }
    if (kind == Kind.OBJECT) {
      return ((Map<String, JsonNode>) value).values().iterator();
    }
    return Collections.emptyIterator();
  }

  public int size() {
    return kind == Kind.ARRAY ? ((List<?>) value).size() : kind == Kind.OBJECT ? ((Map<?, ?>) value).size() : 0;
  }

  public boolean isTextual() {
    return kind == Kind.STRING;
  }

  public boolean isNumber() {
    return kind == Kind.NUMBER;
  }

  public boolean isArray() {
    return kind == Kind.ARRAY;
  }

  public boolean isObject() {
    return kind == Kind.OBJECT;
  }

  public boolean isMissingOrNull() {
    return kind == Kind.MISSING || kind == Kind.NULL;
  }

  /** A string's text, a number's or boolean's literal; {@code fallback} for null, missing and containers. */
  public String asText(String fallback) {
    switch (kind) {
      case STRING:
      case NUMBER:
        return (String) value;
      case BOOLEAN:
        return value.toString();
      default:
        return fallback;
    }
  }

  public String asText() {
    return asText("");
  }

  /** A whole number (or a string holding one); {@code fallback} otherwise. */
  public long asLong(long fallback) {
    if (kind != Kind.NUMBER && kind != Kind.STRING) {
      return fallback;
    }
    try {
      return Long.parseLong((String) value);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  public long asLong() {
    return asLong(0);
  }

  public boolean asBoolean(boolean fallback) {
    return kind == Kind.BOOLEAN ? (Boolean) value : fallback;
  }

  /** Encodes a string as a JSON string literal. */
  public static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    return out.append('"').toString();
  }

  @Override
  public String toString() {
    return kind + (value == null ? "" : ":" + value);
  }
}
