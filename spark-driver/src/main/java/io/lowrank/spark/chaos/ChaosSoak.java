package io.lowrank.spark.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * bin/chaos-soak: a local-cluster training run (executors in their own JVMs) that loses random
 * executor JVMs (SIGKILL) at random moments and its driver once (SIGKILL of the driver and its
 * children, then {@code train --resume RUN_DIR}), checked against an uninterrupted run of the same
 * steps, workers and configuration made in the same soak: final weights and optimizer state byte
 * for byte, every sequence consumed exactly once, every step logged, every checkpoint complete.
 * Steps: [calibration,] uninterrupted reference, interrupted run ({@link ChaosRun}), verification
 * ({@link SoakVerifier}), summary (stdout and summary.json). Exit 0 when every check passes, 1
 * naming the failed checks.
 */
@Command(name = "chaos-soak",
        description = "kill executors at random and the driver once during a local-cluster training run; check nothing was lost or repeated")
public final class ChaosSoak implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;
    @Option(names = "--minutes", paramLabel = "M", defaultValue = "20", description = "how long the interrupted run should last; sizes --steps by a calibration run (default: ${DEFAULT-VALUE})")
    double minutes;
    @Option(names = "--steps", paramLabel = "N", defaultValue = "0", description = "training steps; 0 sizes the run from --minutes (default: ${DEFAULT-VALUE})")
    long steps;
    @Option(names = "--workers", paramLabel = "W", defaultValue = "2", description = "data-parallel workers = local-cluster executors, fixed for the run (default: ${DEFAULT-VALUE})")
    int workers;
    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "seed of the kill schedule, the choice of executors and the generated corpus (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "runs/chaos-soak", description = "soak directory: reference/, interrupted/, logs/, summary.json; must not exist (default: ${DEFAULT-VALUE})")
    Path soakDir;
    @Option(names = "--kill-every-s", paramLabel = "MIN..MAX", defaultValue = "60..180", description = "seconds between executor kills, uniformly random (default: ${DEFAULT-VALUE})")
    String killEvery;
    @Option(names = "--driver-kill-at", paramLabel = "FROM..TO", defaultValue = "0.3..0.6", description = "the driver kill, as a random fraction of the uninterrupted run's wall time (default: ${DEFAULT-VALUE})")
    String driverKillAt;
    @Option(names = "--driver-kills", paramLabel = "0|1", defaultValue = "1", description = "kill the driver once (1) or never (0) (default: ${DEFAULT-VALUE})")
    int driverKills;
    @Option(names = "--min-executor-kills", paramLabel = "K", defaultValue = "1", description = "the soak fails when fewer executor kills happened (default: ${DEFAULT-VALUE})")
    int minExecutorKills;
    @Option(names = "--max-executor-kills", paramLabel = "K", defaultValue = "-1", description = "stop killing executors after K kills; -1 never stops (default: ${DEFAULT-VALUE})")
    int maxExecutorKills;
    @Option(names = "--preset", paramLabel = "P", defaultValue = "tiny", description = "model preset (default: ${DEFAULT-VALUE})")
    String preset;
    @Option(names = "--layer", paramLabel = "L", defaultValue = "cola", description = "projection layers (default: ${DEFAULT-VALUE})")
    String layer;
    @Option(names = "--batch", paramLabel = "B", defaultValue = "4", description = "micro-batch per worker (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--chunk-steps", paramLabel = "C", defaultValue = "50", description = "steps per Spark job (a checkpoint after each) (default: ${DEFAULT-VALUE})")
    long chunkSteps;
    @Option(names = "--keep-checkpoints", paramLabel = "K", defaultValue = "3", description = "checkpoints kept by both runs (default: ${DEFAULT-VALUE})")
    int keepCheckpoints;
    @Option(names = "--executor-memory-mb", paramLabel = "MB", defaultValue = "1024", description = "memory of each local-cluster executor (default: ${DEFAULT-VALUE})")
    int executorMemoryMb;
    @Option(names = "--driver-heap", paramLabel = "SIZE", defaultValue = "2g", description = "-Xmx of the driver JVMs (default: ${DEFAULT-VALUE})")
    String driverHeap;
    @Option(names = "--corpus-docs", paramLabel = "D", defaultValue = "2000", description = "documents of the generated corpus, 60 words each (default: ${DEFAULT-VALUE})")
    int corpusDocs;
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "config overrides passed to train (default: train.seq_len=64, train.eval_batches=2; train.log_every=1 always)")
    List<String> sets = new ArrayList<>(List.of("train.seq_len=64", "train.eval_batches=2"));
    @Option(names = "--home", paramLabel = "DIR", description = "the lowrank checkout, for conf/ (default: -Dlowrank.home, else the working directory)")
    Path home;

    private final PrintStream out;

    public ChaosSoak() {
        this(System.out);
    }

    ChaosSoak(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(System.out, args));
    }

    /** Runs the soak; the exit code (0 every check passed, 1 a check failed or a run broke, 2 bad usage). */
    public static int run(PrintStream out, String... args) {
        CommandLine cl = new CommandLine(new ChaosSoak(out));
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            out.println("chaos-soak: FAILED: " + e);
            e.printStackTrace(out);
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        double[] interval = range(killEvery, "--kill-every-s"), driverFraction = range(driverKillAt, "--driver-kill-at");
        if (workers < 1 || driverKills < 0 || driverKills > 1) throw new CommandLine.ParameterException(new CommandLine(this), "--workers >= 1, --driver-kills 0 or 1");
        if (home == null) home = Path.of(System.getProperty("lowrank.home", System.getProperty("user.dir")));
        if (Files.exists(soakDir)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--run-dir " + soakDir + " exists; the soak needs a fresh directory");
        }
        Path logs = soakDir.resolve("logs");
        Files.createDirectories(logs);
        long soakStart = System.nanoTime();
        DriverCommand cmd = new DriverCommand(home, driverHeap);
        Path corpus = writeCorpus(soakDir.resolve("corpus.txt"), corpusDocs, seed);
        String master = "local-cluster[" + workers + ",1," + executorMemoryMb + "]";

        ObjectNode summary = JSON.createObjectNode();
        String data;
        if (steps <= 0) {
            Calibration c = calibrate(cmd, master, corpus, logs);
            data = c.data;
            double startupS = c.startupSeconds, chunkS = c.chunkSeconds;
            double meanInterval = (interval[0] + interval[1]) / 2, target = minutes * 60;
            double executorKills = target / meanInterval;
            double budget = target - startupS - executorKills * (chunkS / 2 + 20) - driverKills * (startupS + chunkS / 2);
            long chunks = Math.max(3, (long) Math.floor(budget / chunkS));
            steps = chunks * chunkSteps;
            summary.putObject("calibration").put("startup_s", round(startupS)).put("chunk_s", round(chunkS)).put("chunks", chunks);
            out.printf("chaos-soak: calibration: %.1f s to start, %.1f s per chunk of %d steps -> %d steps for about %.0f minutes%n",
                    startupS, chunkS, chunkSteps, steps, minutes);
        } else {
            data = null;
        }

        // the uninterrupted reference: the same command line, nothing killed
        Path reference = soakDir.resolve("reference"), interrupted = soakDir.resolve("interrupted");
        long t0 = System.nanoTime();
        int refCode = runToEnd(cmd.train(trainArgs(master, reference, data == null ? "--corpus" : "--data", data == null ? corpus.toString() : data)),
                logs.resolve("reference.log"), 6 * 3600);
        double referenceWall = (System.nanoTime() - t0) / 1e9;
        out.printf("chaos-soak: uninterrupted reference run: %d steps in %.1f s (exit %d)%n", steps, referenceWall, refCode);
        if (refCode != 0) {
            out.println("chaos-soak: FAILED: the uninterrupted reference run exited " + refCode + "; see " + logs.resolve("reference.log"));
            return 1;
        }
        if (data == null) data = JSON.readTree(reference.resolve("run.json").toFile()).path("data").asText();

        KillSchedule schedule = new KillSchedule(seed, interval[0], interval[1], driverFraction[0], driverFraction[1], referenceWall);
        List<String> first = cmd.train(trainArgs(master, interrupted, "--data", data));
        ChaosRun chaos = new ChaosRun(interrupted, logs, first, n -> cmd.train(List.of("train", "--resume", interrupted.toString(),
                "--master", master, "--threads", "1", "--keep-checkpoints", Integer.toString(keepCheckpoints), "--peer-timeout-s", "30")),
                schedule, driverKills > 0, maxExecutorKills, Math.max(600, referenceWall * 6), out);
        out.printf("chaos-soak: interrupted run: executor kills every %s s, driver kill at %.1f s%s%n", killEvery, schedule.driverKillAtMs() / 1e3,
                driverKills > 0 ? "" : " (disabled)");
        ChaosRun.Outcome outcome = chaos.run();

        SoakVerifier.Verdict v = SoakVerifier.verify(reference, interrupted, steps);
        List<SoakVerifier.Check> checks = new ArrayList<>();
        checks.add(new SoakVerifier.Check("interrupted_run_completed", outcome.exitCode() == 0,
                "the last driver (" + outcome.drivers() + " in all) exited " + outcome.exitCode()));
        long executorKills = outcome.kills().stream().filter(k -> k.kind().equals("executor")).count();
        long driverKilled = outcome.kills().stream().filter(k -> k.kind().equals("driver")).count();
        checks.add(new SoakVerifier.Check("kills_happened", executorKills >= minExecutorKills && driverKilled == driverKills,
                executorKills + " executor kill(s) (at least " + minExecutorKills + " wanted), " + driverKilled + " driver kill(s) (" + driverKills + " wanted)"));
        checks.addAll(v.checks());
        boolean ok = checks.stream().allMatch(SoakVerifier.Check::ok);
        long redone = outcome.kills().stream().mapToLong(ChaosRun.Kill::stepsLost).sum();
        double total = (System.nanoTime() - soakStart) / 1e9;

        summary.put("ok", ok).put("steps", steps).put("workers", workers).put("seed", seed).put("master", master)
                .put("chunk_steps", chunkSteps).put("preset", preset).put("layer", layer).put("batch", batch)
                .put("executor_kills", executorKills).put("driver_kills", driverKilled)
                .put("redone_steps", redone).put("steps_logged_twice", v.stepsLoggedMoreThanOnce())
                .put("chunk_retries_by_driver", v.retryRecords()).put("chunks_done_by_a_spark_stage_retry", v.chunksWithStageRetry())
                .put("leftover_temporary_dirs", v.leftoverTemporaryDirectories().size())
                .put("reference_wall_s", round(referenceWall)).put("interrupted_wall_s", round(outcome.wallSeconds())).put("soak_wall_s", round(total));
        ArrayNode ks = summary.putArray("kills");
        outcome.kills().forEach(k -> ks.add(k.json()));
        ArrayNode cs = summary.putArray("checks");
        for (SoakVerifier.Check c : checks) cs.addObject().put("name", c.name()).put("ok", c.ok()).put("detail", c.detail());
        Files.writeString(soakDir.resolve("summary.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary));

        out.println();
        for (SoakVerifier.Check c : checks) out.printf("  %-28s %s  %s%n", c.name(), c.ok() ? "ok  " : "FAIL", c.detail());
        out.printf("%nchaos-soak: %d steps x %d workers (%s, %s %s, batch %d, chunks of %d): %d executor kill(s), %d driver kill(s), "
                        + "~%d step(s) redone (live step at each kill minus the checkpoint it restarted from), %d chunk retries by the driver, "
                        + "%d chunk(s) finished by a Spark stage retry, %d step(s) logged twice; wall: reference %.0f s, interrupted %.0f s, soak %.0f s%n",
                steps, workers, master, preset, layer, batch, chunkSteps, executorKills, driverKilled, redone, v.retryRecords(), v.chunksWithStageRetry(),
                v.stepsLoggedMoreThanOnce(), referenceWall, outcome.wallSeconds(), total);
        List<String> failed = checks.stream().filter(c -> !c.ok()).map(SoakVerifier.Check::name).toList();
        out.println(ok ? "chaos-soak: PASS (" + soakDir.resolve("summary.json") + ")"
                : "chaos-soak: FAIL: " + String.join(", ", failed) + " (" + soakDir.resolve("summary.json") + ")");
        out.println(summary);
        return ok ? 0 : 1;
    }

    private List<String> trainArgs(String master, Path runDir, String dataFlag, String dataValue) {
        List<String> a = new ArrayList<>(List.of("train", "--preset", preset, "--layer", layer, "--master", master,
                "--workers", Integer.toString(workers), "--threads", "1", "--steps", Long.toString(steps), "--chunk-steps", Long.toString(chunkSteps),
                "--batch", Integer.toString(batch), "--keep-checkpoints", Integer.toString(keepCheckpoints), "--peer-timeout-s", "30",
                "--run-dir", runDir.toString(), dataFlag, dataValue));
        for (String s : sets) a.addAll(List.of("--set", s));
        a.addAll(List.of("--set", "train.log_every=1"));   // every step's loss in metrics.jsonl: the log check needs them all
        return a;
    }

    private record Calibration(String data, double startupSeconds, double chunkSeconds) {
    }

    /** Two chunks, uninterrupted: the time to the first chunk and per chunk, to size the run; prepares the data once. */
    private Calibration calibrate(DriverCommand cmd, String master, Path corpus, Path logs) throws Exception {
        long saved = steps;
        steps = 3 * chunkSteps;
        Path dir = soakDir.resolve("calibration");
        long start = System.currentTimeMillis();
        int code = runToEnd(cmd.train(trainArgs(master, dir, "--corpus", corpus.toString())), logs.resolve("calibration.log"), 3600);
        steps = saved;
        if (code != 0) throw new IllegalStateException("the calibration run exited " + code + "; see " + logs.resolve("calibration.log"));
        List<Double> chunkTimes = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("kind").asText().equals("chunk")) chunkTimes.add(n.get("time").asDouble());
        }
        double chunkS = (chunkTimes.get(chunkTimes.size() - 1) - chunkTimes.get(0)) / (chunkTimes.size() - 1);
        double startupS = chunkTimes.get(0) - start / 1e3 - chunkS;
        return new Calibration(JSON.readTree(dir.resolve("run.json").toFile()).path("data").asText(), Math.max(0, startupS), chunkS);
    }

    private static int runToEnd(List<String> command, Path log, long timeoutS) throws Exception {
        DriverProcess d = DriverProcess.start(command, log);
        if (!d.waitFor(timeoutS, TimeUnit.SECONDS)) {
            d.killTree();
            throw new IllegalStateException("an uninterrupted run took over " + timeoutS + " s; see " + log);
        }
        return d.exitValue();
    }

    static double[] range(String s, String option) {
        String[] p = s.split("\\.\\.");
        try {
            if (p.length == 2) return new double[]{Double.parseDouble(p[0]), Double.parseDouble(p[1])};
        } catch (NumberFormatException e) {
            // falls through to the message
        }
        throw new IllegalArgumentException(option + " " + s + ": expected MIN..MAX, e.g. 60..180");
    }

    /** A corpus of random words from a small vocabulary: fast to tokenize, and the loss still falls. */
    static Path writeCorpus(Path file, int docs, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        String[] words = {"the", "model", "learns", "low", "rank", "spark", "ring", "token", "layer", "gradient", "shard", "data",
                "executor", "driver", "checkpoint", "resume", "chaos", "kill", "step", "batch"};
        StringBuilder sb = new StringBuilder();
        for (int doc = 0; doc < docs; doc++) {
            for (int w = 0; w < 60; w++) sb.append(words[r.nextInt(words.length)]).append(w % 9 == 8 ? ". " : " ");
            sb.append("\n\n");
        }
        Files.writeString(file, sb);
        return file;
    }

    private static double round(double x) {
        return Math.round(x * 10) / 10.0;
    }
}
