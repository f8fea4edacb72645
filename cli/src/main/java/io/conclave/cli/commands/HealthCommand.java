package io.conclave.cli.commands;

import io.conclave.cli.ApiClient;
import io.conclave.cli.CliException;
import io.conclave.cli.ExitCodes;
import io.conclave.cli.Json;
import io.conclave.cli.JsonNode;
import io.conclave.cli.Table;
import java.util.List;
import picocli.CommandLine.Command;

/**
 * {@code conclave health}: prints {@code GET /v1/health} and exits with its verdict, Nagios style:
 * 0 passing (200), 1 warning (429), 2 critical (503), 3 unreachable or an answer that is none of
 * these. The exit code follows the HTTP status the daemon served, which is what its rules decide.
 */
@Command(name = "health", description = "Show this daemon's health; exit 0 passing, 1 warning, 2 critical, 3 unreachable.")
public final class HealthCommand extends ApiCommand {

  @Override
  public Integer call() {
    ApiClient.Response response = api().get("/v1/health");
    int code = exitCode(response.status());
    if (code == ExitCodes.UNREACHABLE) {
      throw new CliException(ExitCodes.UNREACHABLE, "no health verdict: " + response.describe());
    }
    if (json()) {
      printBody(response);
      return code;
    }
    JsonNode body = Json.parse(response, "/v1/health");
    String status = body.path("status").asText("");
    Table table = new Table(List.of("Field", "Value"));
    table.row("status", new Table.Cell(status, style().colourOf(status)));
    if (!body.path("reason").isMissingOrNull()) {
      table.row("reason", body.path("reason").asText());
    }
    table.row("node", body.path("node").asText());
    table.row("role", body.path("role").asText());
    table.row("leader", body.path("leader").asText().isEmpty() ? "(none)" : body.path("leader").asText());
    table.row("term", body.path("term").asLong());
    table.row("commit_index", body.path("commit_index").asLong());
    JsonNode contact = body.path("last_contact_ms");
    table.row("last_contact", contact.isNumber() ? contact.asLong() + " ms" : "never");
    JsonNode members = body.path("members");
    table.row("members", members.path("alive").asLong() + " alive, " + members.path("suspect").asLong() + " suspect, "
        + members.path("failed").asLong() + " failed, " + members.path("left").asLong() + " left");
    table.print(out());
    return code;
  }

  /** 200 passing, 429 warning, 503 critical (SPEC.md); anything else: unknown. */
  static int exitCode(int httpStatus) {
    switch (httpStatus) {
      case 200: return ExitCodes.OK;
      case 429: return ExitCodes.WARNING;
      case 503: return ExitCodes.CRITICAL;
      default: return ExitCodes.UNREACHABLE;
    }
  }
}
