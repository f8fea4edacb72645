package io.conclave.cli.commands;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code conclave completion}: prints the bash (and zsh, via bashcompinit) completion script that
 * picocli generates from the command model, so it never drifts from the commands.
 */
@Command(name = "completion",
    description = {"Print the bash/zsh completion script. Load it with:", "  source <(bin/conclave completion)"})
public final class CompletionCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    String script = AutoComplete.bash(spec.root().name(), spec.root().commandLine());
    spec.commandLine().getOut().print(script);
    spec.commandLine().getOut().flush();
  }
}
