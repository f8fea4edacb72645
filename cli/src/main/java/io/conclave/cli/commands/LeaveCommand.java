package io.conclave.cli.commands;

import picocli.CommandLine.Command;

/** {@code conclave leave}: {@code PUT /v1/agent/leave}, the daemon's graceful leave (as SIGTERM). */
@Command(name = "leave", description = "Make the daemon leave the cluster gracefully and stop (as SIGTERM).")
public final class LeaveCommand extends ApiCommand {

  @Override
  public Integer call() {
    require(api().put("/v1/agent/leave", new byte[0]));
    if (json()) {
      out().println("true");
    } else {
      out().println("Graceful leave complete: " + api().base() + " left the cluster and is stopping");
    }
    out().flush();
    return 0;
  }
}
