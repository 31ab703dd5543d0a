package io.lowrank.worker.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * The worker runtime's own command line, {@code java -cp ... io.lowrank.worker.cli.Main COMMAND}:
 * the single-process commands without Spark. {@code bin/lowrank} runs the Spark launcher
 * ({@code io.lowrank.spark.SparkMain}), whose command list includes these. Each command prints
 * human-readable progress and, as its last line of stdout, one JSON object; exit code 2 means bad
 * usage or configuration, 1 a failure while running (see {@link Cli}).
 */
@Command(name = "lowrank-worker", description = "single-process lowrank commands (no Spark); bin/lowrank has them all",
        footer = "%nlowrank-worker COMMAND --help lists a command's options.")
public final class Main implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    public static int run(String... argv) {
        return Cli.commandLine(commandLine()).execute(argv);
    }

    /** The command tree; {@code train} is the old name of {@code train-local} here. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.addSubcommand("train-local", new TrainLocalCommand(), "train");
        cl.addSubcommand(new EvalCommand());
        cl.addSubcommand(new GradCommand());
        cl.addSubcommand(new GenerateCommand());
        cl.addSubcommand(new ExportCommand());
        cl.addSubcommand(new BenchCommand());
        return cl;
    }

    /** No command given: the usage, and exit code 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Cli.USAGE;
    }
}
