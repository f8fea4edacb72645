package io.conclave.cli.commands;

import io.conclave.cli.ApiClient;
import io.conclave.cli.Json;
import io.conclave.cli.JsonNode;
import io.conclave.cli.Table;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code conclave raft ...}: the Raft group. */
@Command(name = "raft", description = "Inspect the Raft group.", subcommands = RaftCommand.Peers.class)
public final class RaftCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a subcommand: raft peers");
  }

  /**
   * {@code conclave raft peers}: {@code GET /v1/operator/raft/configuration} as a table Node, ID,
   * Address, State (leader/follower), Voter. Without a leader the daemon answers 500 "No cluster
   * leader" (exit 1) unless {@code --stale}.
   */
  @Command(name = "peers", description = "List the Raft servers: Node, ID, Address, State (leader/follower), Voter.")
  public static final class Peers extends ApiCommand {
    @Option(names = "--stale", description = "Let any server answer from its own copy, even without a leader.")
    boolean stale;

    @Override
    public Integer call() {
      ApiClient.Response response = require(api().get("/v1/operator/raft/configuration" + (stale ? "?stale" : "")));
      if (json()) {
        printBody(response);
        return 0;
      }
      Table table = new Table(List.of("Node", "ID", "Address", "State", "Voter"));
      for (JsonNode server : Json.parse(response, "/v1/operator/raft/configuration").path("Servers")) {
        String state = server.path("Leader").asBoolean(false) ? "leader" : "follower";
        table.row(server.path("Node").asText(), server.path("ID").asText(), server.path("Address").asText(),
            new Table.Cell(state, style().colourOf(state)), server.path("Voter").asBoolean(false));
      }
      table.print(out());
      return 0;
    }
  }
}
