package io.lowrank.spark;

import io.lowrank.spark.bench.AllReduceSuite;
import io.lowrank.spark.cli.SparkTrainCommand;
import io.lowrank.worker.cli.Args;
import io.lowrank.worker.cli.Main;

import java.util.Arrays;

/**
 * Main class of the application jar (spark-submit) and of {@code bin/lowrank}: {@code train} runs
 * on Spark; the single-process commands (eval, grad, bench) are passed to the worker runtime's CLI.
 */
public final class SparkMain {
    private SparkMain() {}

    public static void main(String[] argv) {
        int rc;
        try {
            rc = run(argv);
        } catch (Args.UsageException | IllegalArgumentException e) {
            // bad usage or configuration (ConfigException is one): the message names the option or field
            System.err.println("error: " + e.getMessage());
            rc = 2;
        } catch (Exception e) {
            System.err.println("error: " + argv[0] + " failed: " + e.getMessage());
            if (System.getenv("LOWRANK_DEBUG") != null) e.printStackTrace();
            else System.err.println("(set LOWRANK_DEBUG=1 for the stack trace)");
            rc = 1;
        }
        System.exit(rc);
    }

    static int run(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println("usage: lowrank train|prepare|eval|grad|bench|train-local [options]   (lowrank COMMAND --help)");
            return 2;
        }
        switch (argv[0]) {
            case "train":
                return SparkTrainCommand.run(argv);
            case "prepare":
                return io.lowrank.spark.prepare.PrepareCommand.run(argv);
            case "bench":
                if (Arrays.asList(argv).contains("allreduce")) return AllReduceSuite.run(argv);
                return Main.run(argv);
            case "train-local": {
                String[] rest = Arrays.copyOf(argv, argv.length);
                rest[0] = "train";
                return Main.run(rest);
            }
            default:
                return Main.run(argv);
        }
    }
}
