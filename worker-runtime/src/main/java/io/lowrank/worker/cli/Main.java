package io.lowrank.worker.cli;

import java.util.Arrays;

/**
 * {@code lowrank SUBCOMMAND ...}: the single-process commands. Each prints human-readable progress
 * and, as its last line of stdout, one JSON object (the machine-readable result). Exit code 2 means
 * bad usage or configuration, 1 a failure while running.
 */
public final class Main {
    private Main() {}

    static final String USAGE = String.join("\n",
            "usage: lowrank SUBCOMMAND [options]",
            "  train  --preset P [--layer full|cola] [--steps S] [--run-dir DIR] [--corpus FILE | --tokens PATH] [--resume RUN_DIR] [--set model.k=v|train.k=v ...]",
            "  eval   --model DIR --tokens FILE --seq-len N [--batch B] [--dtype float32|float64]",
            "  grad   --model DIR --tokens FILE --seq-len N --out FILE.safetensors [--batch B] [--dtype float32|float64]",
            "  bench  --preset P --layer full|cola[,...] --seq-len 256 --batch B --steps S [--threads T] [--warmup W]",
            "         [--sgemm-size N] [--native both] [--gemm both|auto|openblas|native]",
            "  bench  --suite sgemm [--size N] [--threads T] [--gemm auto|openblas|native]",
            "  bench  --suite spmm24 --preset P [--tokens 2048] [--steps 7] [--warmup 2] [--threads T]");

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    public static int run(String[] argv) {
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h")) {
            System.out.println(USAGE);
            return argv.length == 0 ? 2 : 0;
        }
        String cmd = argv[0];
        try {
            switch (cmd) {
                case "eval": return EvalCommand.eval(argv);
                case "grad": return EvalCommand.grad(argv);
                case "train": return TrainCommand.run(argv);
                case "bench": return BenchCommand.run(argv);
                default:
                    System.err.println("unknown subcommand '" + cmd + "'\n" + USAGE);
                    return 2;
            }
        } catch (Args.UsageException | IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            System.err.println("error: " + cmd + " failed: " + e);
            if (System.getenv("LOWRANK_DEBUG") != null) e.printStackTrace();
            return 1;
        }
    }

    static String[] tail(String[] argv) { return Arrays.copyOfRange(argv, 1, argv.length); }
}
