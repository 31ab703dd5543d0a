package io.lowrank.spark;

import io.lowrank.spark.cli.SparkBenchCommand;
import io.lowrank.spark.cli.SparkTrainCommand;
import io.lowrank.spark.prepare.PrepareCommand;
import io.lowrank.spark.report.ReportCommand;
import io.lowrank.spark.report.ReportRefresher;
import io.lowrank.worker.cli.Cli;
import io.lowrank.worker.cli.EvalCommand;
import io.lowrank.worker.cli.ExportCommand;
import io.lowrank.worker.cli.GenerateCommand;
import io.lowrank.worker.cli.GradCommand;
import io.lowrank.worker.cli.TrainLocalCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * Main class of the application jar (spark-submit) and of {@code bin/lowrank}: every lowrank
 * command. Each command is one picocli class; {@link #commandLine()} is the one place they are
 * registered, and {@link Cli} applies the conventions (exit codes 0/1/2, {@code -h/--help}
 * everywhere, one JSON object as the last stdout line).
 */
@Command(name = "lowrank", description = "pre-training of LLaMA-style models with low-rank layers on Apache Spark",
        footer = {"%nlowrank COMMAND --help lists a command's options; each command prints one JSON object as its last line.",
                "Exit codes: 0 done, 1 failed, 2 bad usage or configuration (the message names the option or field)."})
public final class SparkMain implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    public static void main(String[] argv) {
        int rc = run(argv);
        if (inYarnClusterDriver()) {
            // YARN cluster mode: the ApplicationMaster reports SUCCEEDED when main returns and FAILED (with this
            // message) when it throws; System.exit would make it report FAILED ("Shutdown hook called before final
            // status was reported") for a successful run too
            if (rc == 0) return;
            throw new IllegalStateException("lowrank " + (argv.length > 0 ? argv[0] : "") + " failed (exit code " + rc
                    + "); the error is on the driver's stderr: yarn logs -applicationId " + System.getProperty("spark.yarn.app.id", "<application id>"));
        }
        System.exit(rc);
    }

    /** True in the driver that YARN's ApplicationMaster runs (it copies the application's Spark settings into system properties). */
    static boolean inYarnClusterDriver() {
        return "yarn".equals(System.getProperty("spark.master")) && "cluster".equals(System.getProperty("spark.submit.deployMode"));
    }

    public static int run(String... argv) {
        return commandLine().execute(argv);
    }

    /** Every command, in the order the usage lists them. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SparkMain());
        cl.addSubcommand(new SparkTrainCommand());     // train on Spark
        cl.addSubcommand(new PrepareCommand());        // corpus -> token shards on Spark
        // train in this process; its report is rewritten after each checkpoint (charts live on this side)
        cl.addSubcommand(new TrainLocalCommand(runDir -> new ReportRefresher(runDir.toAbsolutePath().toUri().toString(),
                new org.apache.hadoop.conf.Configuration(), System.out)::refresh));
        cl.addSubcommand(new EvalCommand());
        cl.addSubcommand(new GradCommand());
        cl.addSubcommand(new GenerateCommand());
        cl.addSubcommand(new ExportCommand());
        cl.addSubcommand(new SparkBenchCommand());
        cl.addSubcommand(new ReportCommand());         // report.html + loss.png of runs
        cl.addSubcommand(new io.lowrank.spark.compare.CompareCommand());   // families side by side
        // new commands go here, one class each (generate, export, report, compare): a picocli
        // @Command class implementing Callable<Integer>, options with a description and default
        return Cli.commandLine(cl);
    }

    /** No command given: the usage on stderr, exit code 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Cli.USAGE;
    }
}
