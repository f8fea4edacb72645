package io.conclave.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * The CLI's own JSON reader: it agrees with Jackson on random documents (random nesting, unicode
 * and control characters in strings, numbers of every shape), and refuses malformed input.
 */
class CliJsonTest {
  static final ObjectMapper JACKSON = new ObjectMapper();

  @Property(tries = 300)
  void agreesWithJacksonOnRandomDocuments(@ForAll long seed) throws Exception {
    Random random = new Random(seed);
    com.fasterxml.jackson.databind.JsonNode expected = randomValue(random, 0);
    String text = random.nextBoolean() ? JACKSON.writeValueAsString(expected)
        : JACKSON.writerWithDefaultPrettyPrinter().writeValueAsString(expected);
    assertSame(JsonParser.parse(text), expected, "seed=" + seed + " text=" + text);
  }

  static com.fasterxml.jackson.databind.JsonNode randomValue(Random random, int depth) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    switch (random.nextInt(depth > 4 ? 5 : 7)) {
      case 0: return f.textNode(randomString(random));
      case 1: return f.numberNode(random.nextLong());
      case 2: return f.numberNode(random.nextDouble() * Math.pow(10, random.nextInt(40) - 20));
      case 3: return f.booleanNode(random.nextBoolean());
      case 4: return f.nullNode();
      case 5: {
        ArrayNode array = f.arrayNode();
        for (int i = random.nextInt(4); i > 0; i--) {
          array.add(randomValue(random, depth + 1));
        }
        return array;
      }
      default: {
        ObjectNode object = f.objectNode();
        for (int i = random.nextInt(4); i > 0; i--) {
          object.set(randomString(random), randomValue(random, depth + 1));
        }
        return object;
      }
    }
  }

  static String randomString(Random random) {
    StringBuilder s = new StringBuilder();
    for (int i = random.nextInt(8); i > 0; i--) {
      int kind = random.nextInt(4);
      s.append(kind == 0 ? (char) random.nextInt(0x20) : kind == 1 ? (char) (0x80 + random.nextInt(0x2000))
          : "ab\"\\/ z9".charAt(random.nextInt(8)));
    }
    return s.toString();
  }

  static void assertSame(JsonNode actual, com.fasterxml.jackson.databind.JsonNode expected, String context) {
    if (expected.isObject()) {
      assertThat(actual.isObject()).as(context).isTrue();
      assertThat(actual.size()).as(context).isEqualTo(expected.size());
      for (Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e : expected.properties()) {
        assertSame(actual.path(e.getKey()), e.getValue(), context);
      }
    } else if (expected.isArray()) {
      assertThat(actual.isArray()).as(context).isTrue();
      assertThat(actual.size()).as(context).isEqualTo(expected.size());
      for (int i = 0; i < expected.size(); i++) {
        assertSame(actual.get(i), expected.get(i), context);
      }
    } else if (expected.isTextual()) {
      assertThat(actual.isTextual()).as(context).isTrue();
      assertThat(actual.asText()).as(context).isEqualTo(expected.asText());
    } else if (expected.isIntegralNumber()) {
      assertThat(actual.asLong(-1)).as(context).isEqualTo(expected.asLong());
    } else if (expected.isNumber()) {
      assertThat(Double.parseDouble(actual.asText())).as(context).isEqualTo(expected.asDouble());
    } else if (expected.isBoolean()) {
      assertThat(actual.asBoolean(!expected.asBoolean())).as(context).isEqualTo(expected.asBoolean());
    } else {
      assertThat(actual.isMissingOrNull()).as(context).isTrue();
      assertThat(actual).as(context).isNotSameAs(JsonNode.MISSING);
    }
  }

  @Test
  void refusesMalformedDocuments() {
    for (String bad : new String[] {"", "{", "[1,]", "{\"a\" 1}", "{a:1}", "01", "1.", "-", "\"\\x\"", "\"a",
        "tru", "[1] 2", "\"\u0001\"", "{\"a\":1,}", "[".repeat(300) + "]".repeat(300)}) {
      assertThatThrownBy(() -> JsonParser.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("at offset");
    }
  }

  @Test
  void quoteRoundTrips() {
    String text = "a\"b\\c\nd\u0001é";
    assertThat(JsonParser.parse(JsonNode.quote(text)).asText()).isEqualTo(text);
  }

  @Test
  void missingMembersAreLenient() {
    JsonNode node = JsonParser.parse("{\"a\":{\"b\":[1,\"2\",true]}}");
    assertThat(node.path("a").path("b").get(1).asLong()).isEqualTo(2);
    assertThat(node.path("x").path("y").get(3).asText("none")).isEqualTo("none");
    assertThat(node.path("a").path("b").get(2).asBoolean(false)).isTrue();
  }
}
