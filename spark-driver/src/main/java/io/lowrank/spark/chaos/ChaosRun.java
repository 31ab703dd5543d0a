package io.lowrank.spark.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.CheckpointDir;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The interrupted run: starts the driver, kills executor JVMs on the schedule and the driver once
 * (then starts {@code train --resume RUN_DIR}), and logs every kill with its time, the step rank 0
 * had reached, the newest checkpoint on disk and what was killed. Kills wait for a target: an
 * executor kill while no executor is up (a driver starting, a replacement being launched) is
 * postponed, and the driver kill waits for a first checkpoint so that the resume has one to take.
 */
final class ChaosRun {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long POLL_MS = 500, POSTPONE_MS = 3000;

    /** One kill. stepsLost: live step minus the checkpoint step the retry restarts from (0 if no step ran since the last restart). */
    record Kill(double atSeconds, String kind, long pid, String executorId, long liveStep, long checkpointStep, long stepsLost, int childrenKilled) {
        ObjectNode json() {
            ObjectNode n = JSON.createObjectNode();
            n.put("at_s", Math.round(atSeconds * 10) / 10.0).put("kind", kind).put("pid", pid);
            if (executorId != null) n.put("executor_id", executorId);
            n.put("live_step", liveStep).put("newest_checkpoint_step", checkpointStep).put("steps_lost", stepsLost);
            if (kind.equals("driver")) n.put("children_killed", childrenKilled);
            return n;
        }
    }

    record Outcome(List<Kill> kills, int exitCode, double wallSeconds, int drivers) {
    }

    private final Path runDir, logDir;
    private final List<String> firstCommand;
    private final Function<Integer, List<String>> resumeCommand;
    private final KillSchedule schedule;
    private final boolean killDriver;
    private final int maxExecutorKills;
    private final double timeoutS;
    private final PrintStream out;
    private final List<DriverProcess> started = new ArrayList<>();

    /**
     * @param resumeCommand the resume command line for the n-th driver (n >= 2)
     * @param timeoutS      the whole interrupted run is abandoned (and fails) after this long
     */
    ChaosRun(Path runDir, Path logDir, List<String> firstCommand, Function<Integer, List<String>> resumeCommand, KillSchedule schedule,
             boolean killDriver, int maxExecutorKills, double timeoutS, PrintStream out) {
        this.runDir = runDir;
        this.logDir = logDir;
        this.firstCommand = firstCommand;
        this.resumeCommand = resumeCommand;
        this.schedule = schedule;
        this.killDriver = killDriver;
        this.maxExecutorKills = maxExecutorKills;
        this.timeoutS = timeoutS;
        this.out = out;
    }

    Outcome run() throws IOException, InterruptedException {
        List<Kill> kills = new ArrayList<>();
        Path killLog = logDir.resolve("kills.jsonl");
        long start = System.nanoTime();
        int drivers = 1;
        DriverProcess driver = launch(firstCommand, drivers);
        long nextExecutorKill = schedule.nextExecutorKillDelayMs(), driverKillAt = schedule.driverKillAtMs();
        boolean driverKilled = !killDriver;
        long lastStep = 0, lastStepChangeMs = -1, lastRestartMs = 0;
        int executorKills = 0;
        try {
            while (true) {
                if (driver.waitFor(POLL_MS, TimeUnit.MILLISECONDS)) {
                    return new Outcome(kills, driver.exitValue(), seconds(start), drivers);
                }
                long nowMs = (System.nanoTime() - start) / 1_000_000;
                if (nowMs > timeoutS * 1000) {
                    out.println("chaos-soak: the interrupted run did not finish within " + timeoutS + " s; killing it");
                    driver.killTree();
                    return new Outcome(kills, -1, seconds(start), drivers);
                }
                OptionalLong live = driver.liveStep();
                if (live.isPresent() && live.getAsLong() != lastStep) {
                    lastStep = live.getAsLong();
                    lastStepChangeMs = nowMs;
                }
                if (!driverKilled && nowMs >= driverKillAt) {
                    long ckpt = newestCheckpointStep();
                    if (ckpt < 0) {
                        driverKillAt = nowMs + POSTPONE_MS;
                        continue;
                    }
                    long lost = lastStepChangeMs > lastRestartMs ? Math.max(0, lastStep - ckpt) : 0;
                    int children = driver.killTree();
                    Kill k = new Kill(nowMs / 1e3, "driver", driver.pid(), null, lastStep, ckpt, lost, children);
                    record(k, kills, killLog);
                    driverKilled = true;
                    drivers++;
                    driver = launch(resumeCommand.apply(drivers), drivers);
                    lastStep = 0;   // a new application: its gauge starts again
                    lastRestartMs = nowMs;
                    continue;
                }
                if (nowMs >= nextExecutorKill && (maxExecutorKills < 0 || executorKills < maxExecutorKills)) {
                    List<DriverProcess.Executor> executors = driver.executors();
                    if (executors.isEmpty()) {
                        nextExecutorKill = nowMs + POSTPONE_MS;
                        continue;
                    }
                    DriverProcess.Executor victim = executors.get(schedule.pick(executors.size()));
                    long ckpt = newestCheckpointStep();
                    long lost = lastStepChangeMs > lastRestartMs ? Math.max(0, lastStep - Math.max(ckpt, 0)) : 0;
                    DriverProcess.kill(victim);
                    Kill k = new Kill(nowMs / 1e3, "executor", victim.process().pid(), victim.id(), lastStep, ckpt, lost, 0);
                    record(k, kills, killLog);
                    executorKills++;
                    lastRestartMs = nowMs;
                    nextExecutorKill = nowMs + schedule.nextExecutorKillDelayMs();
                }
            }
        } finally {
            for (DriverProcess d : started) if (d.isAlive()) d.killTree();
        }
    }

    private DriverProcess launch(List<String> command, int n) throws IOException {
        Path log = logDir.resolve("driver-" + n + ".log");
        Files.writeString(log, "$ " + String.join(" ", command.subList(command.indexOf("io.lowrank.spark.SparkMain"), command.size())) + "\n",
                StandardCharsets.UTF_8);
        DriverProcess d = DriverProcess.start(command, log);
        started.add(d);
        out.println("chaos-soak: driver " + n + " pid " + d.pid() + " (log " + log + ")");
        return d;
    }

    private void record(Kill k, List<Kill> kills, Path killLog) throws IOException {
        kills.add(k);
        Files.writeString(killLog, k.json().toString() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        out.printf("chaos-soak: %7.1f s  killed %s pid %d%s at live step %d (newest checkpoint step %d, ~%d step(s) to redo)%n",
                k.atSeconds(), k.kind(), k.pid(), k.executorId() != null ? " (executor " + k.executorId() + ")" : " and " + k.childrenKilled() + " children",
                k.liveStep(), k.checkpointStep(), k.stepsLost());
    }

    /** The highest step among the run's checkpoint directories that hold a trainer state; -1 when none. */
    private long newestCheckpointStep() throws IOException {
        if (!Files.isDirectory(runDir)) return -1;
        long best = -1;
        try (Stream<Path> s = Files.list(runDir)) {
            for (Path p : s.toList()) {
                OptionalLong step = CheckpointDir.parseStep(p.getFileName().toString());
                if (step.isPresent() && Files.isRegularFile(p.resolve(CheckpointDir.TRAINER_STATE_JSON))) best = Math.max(best, step.getAsLong());
            }
        }
        return best;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
