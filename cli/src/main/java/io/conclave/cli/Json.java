package io.conclave.cli;

/** Reading the daemon's JSON answers for tables (see {@link JsonNode} for why not Jackson). */
public final class Json {
  private Json() {}

  /** The answer's body as a tree; a body that is not JSON is the daemon's fault: exit 1. */
  public static JsonNode parse(ApiClient.Response response, String what) {
    try {
      return JsonParser.parse(response.text());
    } catch (IllegalArgumentException e) {
      throw CliException.failed("the daemon's answer to " + what + " is not JSON: " + e.getMessage());
    }
  }
}
