package io.conclave.cli.commands;

import io.conclave.cli.ApiClient;
import io.conclave.cli.Cli;
import io.conclave.cli.CliException;
import io.conclave.cli.Style;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every command that talks to the daemon shares: the root's options, output and client. */
abstract class ApiCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  Cli cli() {
    return (Cli) spec.root().userObject();
  }

  ApiClient api() {
    return cli().api(spec.commandLine());
  }

  boolean json() {
    return cli().format() == Cli.Format.json;
  }

  Style style() {
    return cli().style();
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** The API's body as it is (for {@code --format json}), ending with one newline. */
  void printBody(ApiClient.Response response) {
    String text = response.text();
    out().print(text.endsWith("\n") ? text : text + "\n");
    out().flush();
  }

  /** A 2xx answer, or the one-line error (status and the daemon's reason), exit 1. */
  static ApiClient.Response require(ApiClient.Response response) {
    if (!response.ok()) {
      throw CliException.failed(response.describe());
    }
    return response;
  }
}
