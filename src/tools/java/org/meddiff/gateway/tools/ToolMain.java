package org.meddiff.gateway.tools;

import java.io.IOException;

import picocli.CommandLine;

/**
 * How every tool's {@code main} runs its picocli command: exit status 0 on success; 2 for a usage error (picocli's own,
 * or an IllegalArgumentException the command throws for a value it cannot take); 1 for input it cannot read (an
 * IOException or IllegalStateException: a folder that is no series, a model whose checksum is wrong), printed as one
 * line naming it; anything else with its stack trace.
 */
final class ToolMain {
    private ToolMain() {}

    static int execute(Object command, String... args) {
        CommandLine line = new CommandLine(command);
        line.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (e instanceof IllegalArgumentException
                    || e instanceof IOException
                    || e instanceof IllegalStateException) {
                commandLine.getErr().println(commandLine.getCommandName() + ": " + e.getMessage());
                return e instanceof IllegalArgumentException ? 2 : 1;
            }
            throw e;
        });
        return line.execute(args);
    }

    static void run(Object command, String... args) {
        System.exit(execute(command, args));
    }
}
