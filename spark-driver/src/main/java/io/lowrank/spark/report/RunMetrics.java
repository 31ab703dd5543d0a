package io.lowrank.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.fs.RunDirectory;
import org.apache.hadoop.conf.Configuration;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One run's {@code metrics.jsonl}, split by kind: the per-step {@code train} lines, the held-out
 * {@code eval} lines, the {@code chunk} lines of a Spark run and its {@code retry} lines. Written
 * by {@code train} (driver) and {@code train-local} (Trainer); a line that does not parse (the torn
 * last line of a crashed writer) is counted in {@link #skippedLines}, not fatal.
 */
public final class RunMetrics {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One optimizer step: the loss averaged over workers, the time it ended (epoch seconds). */
    public record Step(long step, long tokens, double loss, double lr, double gradNorm, double time, double tokensPerSecond,
                       double allReduceExposedMs) {
    }

    /** A held-out evaluation after {@code step}; {@code tokens} are the training tokens seen by then. */
    public record Eval(long step, long tokens, double valLoss) {
    }

    /** One Spark job of training steps {@code firstStep..lastStep}. */
    public record Chunk(int chunk, long firstStep, long lastStep, double tokensPerSecond, double seconds,
                        double allReduceExposedMsPerStep, double allReduceStandaloneMs, int stageAttempt, double time) {
    }

    /** A failed chunk, retried from the checkpoint at {@code fromStep}. */
    public record Retry(long fromStep, int attempt, String error, double time) {
    }

    public final String label;
    public final String source;
    public final List<Step> steps = new ArrayList<>();
    public final List<Eval> evals = new ArrayList<>();
    public final List<Chunk> chunks = new ArrayList<>();
    public final List<Retry> retries = new ArrayList<>();
    public int skippedLines;

    private RunMetrics(String label, String source) {
        this.label = label;
        this.source = source;
    }

    /** Reads {@code RUN_DIR/metrics.jsonl} through the Hadoop FileSystem API (file://, hdfs://, s3a://...). */
    public static RunMetrics read(String runDirUri, Configuration conf) throws IOException {
        RunDirectory run = new RunDirectory(runDirUri, conf);
        String text;
        try {
            text = run.readText(RunDirectory.METRICS_JSONL);
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException(run.uri() + " has no " + RunDirectory.METRICS_JSONL
                    + ": is it a run directory of train or train-local (not a step-N checkpoint inside one)?");
        }
        return parse(new org.apache.hadoop.fs.Path(run.uri()).getName(), run.uri() + "/" + RunDirectory.METRICS_JSONL, text);
    }

    public static RunMetrics parse(String label, String source, String text) {
        RunMetrics m = new RunMetrics(label, source);
        List<long[]> evalSteps = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException e) {
                m.skippedLines++;
                continue;
            }
            switch (n.path("kind").asText()) {
                case "train" -> m.steps.add(new Step(n.path("step").asLong(), n.path("tokens").asLong(), num(n, "loss"), num(n, "lr"),
                        num(n, "grad_norm"), num(n, "time"), num(n, "tokens_per_s"), num(n, "allreduce_exposed_ms")));
                case "eval" -> m.evals.add(new Eval(n.path("step").asLong(), n.path("tokens").asLong(-1), num(n, "val_loss")));
                case "chunk" -> {
                    long first = n.path("first_step").asLong(), last = n.path("last_step").asLong();
                    m.chunks.add(new Chunk(n.path("chunk").asInt(), first, last, num(n, "tokens_per_s"), num(n, "seconds"),
                            1e3 * num(n, "allreduce_exposed_s") / Math.max(1, last - first + 1), 1e3 * num(n, "allreduce_standalone_s"),
                            n.path("stage_attempt").asInt(), num(n, "time")));
                }
                case "retry" -> m.retries.add(new Retry(n.path("from_step").asLong(), n.path("attempt").asInt(),
                        n.path("error").asText(""), num(n, "time")));
                default -> { }
            }
        }
        // a resumed local run appends the steps after its checkpoint again: the last line of a step wins
        dedupeSteps(m.steps);
        for (int i = 0; i < m.evals.size(); i++) {
            Eval e = m.evals.get(i);
            if (e.tokens() < 0) m.evals.set(i, new Eval(e.step(), m.tokensAt(e.step()), e.valLoss()));
        }
        return m;
    }

    private static void dedupeSteps(List<Step> steps) {
        java.util.TreeMap<Long, Step> byStep = new java.util.TreeMap<>();
        for (Step s : steps) byStep.put(s.step(), s);
        if (byStep.size() == steps.size() && isSorted(steps)) return;
        steps.clear();
        steps.addAll(byStep.values());
    }

    private static boolean isSorted(List<Step> steps) {
        for (int i = 1; i < steps.size(); i++) if (steps.get(i).step() <= steps.get(i - 1).step()) return false;
        return true;
    }

    /** Training tokens after {@code step} (from the train line of that step, or scaled from the last one before it). */
    public long tokensAt(long step) {
        Step best = null;
        for (Step s : steps) {
            if (s.step() == step) return s.tokens();
            if (s.step() < step) best = s;
        }
        return best == null || best.step() == 0 ? 0 : Math.round(best.tokens() * (double) step / best.step());
    }

    /** Tokens per optimizer step, from the last train line (0 when none). */
    public long tokensPerStep() {
        if (steps.isEmpty()) return 0;
        Step s = steps.get(steps.size() - 1);
        return s.step() == 0 ? 0 : s.tokens() / s.step();
    }

    public long lastStep() { return steps.isEmpty() ? 0 : steps.get(steps.size() - 1).step(); }

    /** Mean training loss of the last {@code n} steps (NaN without steps). */
    public double meanLastLoss(int n) {
        if (steps.isEmpty()) return Double.NaN;
        double sum = 0;
        int k = Math.min(n, steps.size());
        for (int i = steps.size() - k; i < steps.size(); i++) sum += steps.get(i).loss();
        return sum / k;
    }

    public double lastValLoss() { return evals.isEmpty() ? Double.NaN : evals.get(evals.size() - 1).valLoss(); }

    /** Tokens per second over the whole run: the chunks' (Spark), else the steps' own figures or their timestamps. */
    public double meanTokensPerSecond() {
        if (!chunks.isEmpty()) {
            double tokens = 0, secs = 0;
            long perStep = tokensPerStep();
            for (Chunk c : chunks) {
                tokens += (c.lastStep() - c.firstStep() + 1) * (double) perStep;
                secs += c.seconds();
            }
            return secs > 0 ? tokens / secs : Double.NaN;
        }
        if (steps.size() >= 2) {
            Step a = steps.get(0), b = steps.get(steps.size() - 1);
            if (b.time() > a.time()) return (b.tokens() - a.tokens()) / (b.time() - a.time());
        }
        return Double.NaN;
    }

    private static double num(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }
}
