package io.conclave.cli.commands;

import io.conclave.cli.ApiClient;
import io.conclave.cli.CliException;
import io.conclave.cli.Json;
import io.conclave.cli.JsonNode;
import io.conclave.cli.Table;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;

/**
 * {@code conclave leader}: the Raft leader's node, address and term. Three reads at once: the
 * address ({@code /v1/status/leader}), the term ({@code /v1/health}) and the node name (the Raft
 * configuration, {@code ?stale}). No known leader is an error (exit 1) that carries the daemon's
 * health reason. JSON: {@code {"Node","Address","Term"}} (no single API call has this shape).
 */
@Command(name = "leader", description = "Show the Raft leader: its node, address and term.")
public final class LeaderCommand extends ApiCommand {

  @Override
  public Integer call() throws InterruptedException {
    ApiClient api = api();
    CompletableFuture<HttpResponse<byte[]>> leaderAsked = api.getAsync("/v1/status/leader");
    CompletableFuture<HttpResponse<byte[]>> healthAsked = api.getAsync("/v1/health");
    CompletableFuture<HttpResponse<byte[]>> raftAsked = api.getAsync("/v1/operator/raft/configuration?stale");
    String address = Json.parse(require(api.await(leaderAsked)), "/v1/status/leader").asText("");
    ApiClient.Response health = api.await(healthAsked);
    JsonNode healthBody = health.text().isBlank() ? null : Json.parse(health, "/v1/health");
    if (address.isEmpty()) {
      String reason = healthBody == null ? "" : healthBody.path("reason").asText("");
      throw CliException.failed("no leader known" + (reason.isEmpty() ? "" : " (the daemon reports: " + reason + ")"));
    }
    String node = "";
    ApiClient.Response raft = api.await(raftAsked);
    if (raft.ok()) {
      for (JsonNode server : Json.parse(raft, "/v1/operator/raft/configuration").path("Servers")) {
        if (address.equals(server.path("Address").asText())) {
          node = server.path("Node").asText("");
        }
      }
    }
    long term = healthBody == null ? 0 : healthBody.path("term").asLong(0);
    if (json()) {
      out().println("{\"Node\":" + JsonNode.quote(node) + ",\"Address\":" + JsonNode.quote(address)
          + ",\"Term\":" + term + "}");
      out().flush();
      return 0;
    }
    new Table(List.of("Node", "Address", "Term")).row(node.isEmpty() ? "?" : node, address, term).print(out());
    return 0;
  }
}
