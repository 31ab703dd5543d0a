package io.lowrank.worker.cli;

import io.lowrank.worker.train.RunConfig;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The options that override a preset's values, shared by {@code train} and {@code train-local}:
 * the convenience flags and the generic {@code --set model.k=v|train.k=v}, applied together and
 * validated once by {@link RunConfig#with(Map)}.
 */
public final class TrainOverrides {
    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps of the run; with --resume, a larger N extends the run at its final learning rate (default: the preset's train.steps)")
    public Long steps;

    @Option(names = "--batch", paramLabel = "B", description = "sequences per micro-batch and worker (default: the preset's train.batch_size)")
    public Integer batch;

    @Option(names = "--seq-len", paramLabel = "N", description = "tokens per training sequence (default: the preset's train.seq_len)")
    public Integer seqLen;

    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: the preset's train.lr)")
    public Double lr;

    @Option(names = "--backend", paramLabel = "B", description = "cpu or cuda: train.backend (default: the preset's, else cpu)")
    public String backend;

    @Option(names = "--precision", paramLabel = "P",
            description = "cuda only: f32 or bf16 mixed precision: train.precision (default: the preset's, else f32)")
    public String precision;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "override any preset value, model.KEY=V or train.KEY=V (repeatable; default: none)")
    public List<String> set = new ArrayList<>();

    /** The overrides as train.* keys, --set last (it wins over a flag for the same key). */
    public Map<String, String> asMap(Integer threads) {
        Map<String, String> o = new LinkedHashMap<>();
        if (steps != null) o.put("train.steps", Long.toString(steps));
        if (batch != null) o.put("train.batch_size", Integer.toString(batch));
        if (seqLen != null) o.put("train.seq_len", Integer.toString(seqLen));
        if (lr != null) o.put("train.lr", Double.toString(lr));
        if (threads != null) o.put("train.threads", Integer.toString(threads));
        if (backend != null) o.put("train.backend", backend);
        if (precision != null) o.put("train.precision", precision);
        o.putAll(sets(set));
        return o;
    }

    /**
     * A new run's config: the preset rc with every override applied (threads: --threads, or null).
     * A --steps at or below the preset's warmup would leave no room for the decay (and fail
     * validation): unless train.warmup_steps is set explicitly, the warmup is then scaled to the
     * preset's warmup fraction of the new steps, and a line on notes says so.
     */
    public RunConfig apply(RunConfig rc, Integer threads, PrintStream notes) {
        Map<String, String> o = asMap(threads);
        if (o.isEmpty()) return rc;
        if (o.containsKey("train.steps") && !o.containsKey("train.warmup_steps")) {
            long steps = Long.parseLong(o.get("train.steps").replace("_", ""));
            long warmup = rc.warmupSteps(), presetSteps = rc.steps();
            if (warmup > 0 && steps > 0 && warmup >= steps) {
                long scaled = scaledWarmup(warmup, presetSteps, steps);
                o.put("train.warmup_steps", Long.toString(scaled));
                notes.printf("train.warmup_steps: %d (the preset's %d of %d steps, %.1f%%, scaled to --steps %d; set train.warmup_steps to choose)%n",
                        scaled, warmup, presetSteps, 100.0 * warmup / presetSteps, steps);
            }
        }
        return rc.with(o);
    }

    /**
     * A resumed run's config: the overrides other than --steps applied to the run's own config, and
     * --steps N as an extension ({@link RunConfig#extendedTo}: the cosine keeps its horizon, the
     * added steps run at its final learning rate), with a line on notes saying so.
     */
    public RunConfig applyOnResume(RunConfig rc, Integer threads, PrintStream notes) {
        Map<String, String> o = asMap(threads);
        o.remove("train.steps");
        if (!o.isEmpty()) rc = rc.with(o);
        return steps == null ? rc : extend(rc, steps, notes);
    }

    /** rc extended to steps (see {@link RunConfig#extendedTo}), said on notes. */
    public static RunConfig extend(RunConfig rc, long steps, PrintStream notes) {
        RunConfig e = rc.extendedTo(steps);
        if (e != rc) {
            notes.printf("extending the run from %d to %d steps: the cosine still ends at step %d; steps %d-%d run at its final "
                    + "learning rate %.2e (lr x min_lr_ratio), so the learning rate does not jump%n",
                    rc.steps(), steps, e.decaySteps(), rc.steps() + 1, steps, rc.lr() * rc.minLrRatio());
        }
        return e;
    }

    /** The preset's warmup fraction of newSteps, rounded, and below newSteps (at least one step decays). */
    static long scaledWarmup(long warmup, long presetSteps, long newSteps) {
        return Math.min(newSteps - 1, Math.round((double) warmup * newSteps / presetSteps));
    }

    /** --set KEY=VALUE values as a map; a value without '=' is a usage error naming --set. */
    public static Map<String, String> sets(List<String> values) {
        Map<String, String> o = new LinkedHashMap<>();
        for (String kv : values) {
            int eq = kv.indexOf('=');
            if (eq < 0) throw new UsageException("--set expects KEY=VALUE (model.KEY or train.KEY), got '" + kv + "'");
            o.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return o;
    }

    /** rc with the --set values alone applied. */
    public static RunConfig applySets(RunConfig rc, List<String> values) {
        Map<String, String> o = sets(values);
        return o.isEmpty() ? rc : rc.with(o);
    }
}
