package io.conclave.cli.commands;

import io.conclave.cli.ApiClient;
import io.conclave.cli.Json;
import io.conclave.cli.JsonNode;
import io.conclave.cli.Table;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;

/**
 * {@code conclave members}: every member gossip knows ({@code GET /v1/agent/members}), sorted by
 * name, with the Raft leader marked. The leader's node comes from the Raft configuration
 * ({@code ?stale}, asked at the same time); when there is none, no row is marked.
 */
@Command(name = "members", description = "List the cluster's members: Node, Address, Status, Role, Incarnation, and the Raft leader.")
public final class MembersCommand extends ApiCommand {

  @Override
  public Integer call() throws InterruptedException {
    ApiClient api = api();
    CompletableFuture<HttpResponse<byte[]>> members = api.getAsync("/v1/agent/members");
    CompletableFuture<HttpResponse<byte[]>> raft = json() ? null : api.getAsync("/v1/operator/raft/configuration?stale");
    ApiClient.Response response = require(api.await(members));
    if (json()) {
      printBody(response);
      return 0;
    }
    Set<String> leaders = leaderNodes(api, raft);
    List<JsonNode> rows = new ArrayList<>();
    Json.parse(response, "/v1/agent/members").forEach(rows::add);
    rows.sort(Comparator.comparing(m -> m.path("Name").asText()));
    Table table = new Table(List.of("Node", "Address", "Status", "Role", "Incarnation", "Leader"));
    for (JsonNode m : rows) {
      String name = m.path("Name").asText();
      String state = state(m);
      table.row(name, hostPort(m.path("Addr").asText(), m.path("Port").asLong()),
          new Table.Cell(state, style().colourOf(state)), m.path("Tags").path("role").asText(""),
          m.path("Incarnation").asText(""), leaders.contains(name) ? "*" : "");
    }
    table.print(out());
    return 0;
  }

  /** The member state word: conclave's {@code State}, else Consul's {@code Status} number. */
  static String state(JsonNode member) {
    String state = member.path("State").asText("");
    if (!state.isEmpty()) {
      return state;
    }
    switch ((int) member.path("Status").asLong(0)) {
      case 1: return "alive";
      case 2: return "leaving";
      case 3: return "left";
      case 4: return "failed";
      default: return "none";
    }
  }

  static String hostPort(String host, long port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** Nodes the Raft configuration calls leader; empty when it is unavailable (no leader yet). */
  private static Set<String> leaderNodes(ApiClient api, CompletableFuture<HttpResponse<byte[]>> raft)
      throws InterruptedException {
    ApiClient.Response response = api.await(raft);
    Set<String> nodes = new HashSet<>();
    if (response.ok()) {
      for (JsonNode server : Json.parse(response, "/v1/operator/raft/configuration").path("Servers")) {
        if (server.path("Leader").asBoolean(false)) {
          nodes.add(server.path("Node").asText());
        }
      }
    }
    return nodes;
  }
}
