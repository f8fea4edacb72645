package io.conclave.cli;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import picocli.CommandLine;

/** Runs one {@code conclave} command in-process, as {@code main} would, with captured output. */
final class CliRun {
  /** What a run printed and how it ended. */
  record Result(int exitCode, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  private CliRun() {}

  static Result run(String... args) {
    return run(Map.of(), false, new ByteArrayInputStream(new byte[0]), args);
  }

  static Result run(Map<String, String> env, boolean terminal, InputStream stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = new Cli(env, terminal, stdin).commandLine(args);
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int code = commandLine.execute(args);
    return new Result(code, out.toString(), err.toString());
  }
}
