package io.lowrank.worker.cli;

import io.lowrank.worker.tensor.BackendUnavailableException;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.PrintWriter;

/**
 * The conventions every lowrank command follows, applied to a picocli command tree in one place:
 * <ul>
 *   <li>exit code 0 done, 2 bad usage or configuration (picocli's parse errors, {@link UsageException}
 *       and {@link IllegalArgumentException}, which ConfigException is: the message names the option or
 *       field), 1 a failure while running;</li>
 *   <li>{@code -h}/{@code --help} on every command, added here so that no command can lack it;</li>
 *   <li>a repeated single-value option takes its last value (as {@code --steps 5 --steps 6} always did);</li>
 *   <li>help lists each option on one line with its meaning and default.</li>
 * </ul>
 * Commands print human-readable progress to stdout and, as the last stdout line, one JSON object.
 */
public final class Cli {
    private Cli() {}

    /** Exit codes of every command. */
    public static final int OK = 0, FAILED = 1, USAGE = 2;

    /** The command (with its registered subcommands) set up with the project's conventions. */
    public static CommandLine commandLine(CommandLine cl) {
        addHelp(cl);
        cl.setOverwrittenOptionsAllowed(true);
        cl.setExpandAtFiles(false);   // "@x" is a value like any other, not a file of arguments
        cl.setUsageHelpLongOptionsMaxWidth(28);
        cl.setUsageHelpWidth(120);
        cl.setParameterExceptionHandler(Cli::badUsage);
        cl.setExecutionExceptionHandler(Cli::failed);
        return cl;
    }

    public static CommandLine commandLine(Object command) { return commandLine(new CommandLine(command)); }

    /** Runs one command object on its arguments (without the command's name); returns the exit code. */
    public static int run(Object command, String... args) { return commandLine(command).execute(args); }

    private static void addHelp(CommandLine cl) {
        CommandSpec spec = cl.getCommandSpec();
        if (spec.findOption("--help") == null) {
            spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                    .description("print this command's options and exit").build());
        }
        for (CommandLine sub : cl.getSubcommands().values()) addHelp(sub);
    }

    private static int badUsage(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println("error: " + commandName(cl) + ": " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("(" + qualifiedName(cl) + " --help lists the options)");
        err.flush();
        return USAGE;
    }

    private static int failed(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof UsageException || e instanceof IllegalArgumentException) {
            err.println("error: " + e.getMessage());
            err.flush();
            return USAGE;
        }
        if (e instanceof BackendUnavailableException) {
            // no GPU, driver or CUDA library here: the message says what is missing and what to do
            err.println("error: " + e.getMessage());
            err.flush();
            return FAILED;
        }
        err.println("error: " + commandName(cl) + " failed: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
        if (System.getenv("LOWRANK_DEBUG") != null) e.printStackTrace(err);
        else err.println("(set LOWRANK_DEBUG=1 for the stack trace)");
        err.flush();
        return FAILED;
    }

    private static String commandName(CommandLine cl) { return cl.getCommandName(); }

    private static String qualifiedName(CommandLine cl) { return cl.getCommandSpec().qualifiedName(); }
}
