package io.conclave.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Reading the daemon's JSON for tables, and writing the few JSON values the CLI composes itself.
 * The mapper is built on first use (a holder class), so commands that print the API's JSON as it
 * is, and {@code --help}, never load Jackson's databind.
 */
public final class Json {
  private Json() {}

  private static final class Holder {
    static final ObjectMapper MAPPER = new ObjectMapper();
  }

  /** The answer's body as a tree; a body that is not JSON is the daemon's fault: exit 1. */
  public static JsonNode parse(ApiClient.Response response, String what) {
    try {
      return Holder.MAPPER.readTree(response.body());
    } catch (IOException e) {
      throw CliException.failed("the daemon's answer to " + what + " is not JSON: "
          + e.getMessage().lines().findFirst().orElse(""));
    }
  }

  public static String write(Object value) {
    try {
      return Holder.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + value, e);
    }
  }
}
