package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.CheckpointFormatException;
import io.lowrank.worker.checkpoint.CheckpointManifest;
import io.lowrank.worker.checkpoint.JsonFiles;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.data.CursorState;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.Initializer;
import io.lowrank.worker.model.LlamaModel;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.optim.AdamW;
import io.lowrank.worker.optim.CosineSchedule;
import io.lowrank.worker.optim.GradClip;
import io.lowrank.worker.tensor.Backend;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * Single-process training loop: micro-batches with gradient accumulation, global-norm clipping,
 * AdamW on the warmup-cosine schedule, periodic held-out evaluation and checkpoints from which
 * {@link #resume} continues with the identical loss sequence (weights, moments, step and data
 * cursor are all in the checkpoint; nothing else is random).
 */
public final class Trainer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Backend be;
    private final RunConfig rc;
    private final ModelConfig mc;
    private final ParameterStore params;
    private final LlamaModel model;
    private final AdamW opt;
    private final CosineSchedule schedule;
    private final TokenCursor train;
    private final int[] valTokens;
    private final Path runDir;
    private final MetricsLog metrics;
    private final PrintStream progress;
    private final int batch, seqLen, accum;
    private final int[] windows, inputs, targets;
    private long step;
    private Double initialLoss;
    private GradientSync gradientSync;     // null: single worker
    private double lastLr, lastGradNorm;
    private boolean lastSkipped;
    private final SkipGuard skipGuard;
    private GradientFault gradientFault;   // test hook: null in real runs

    /** Test hook: at optimizer step {@code step} this worker writes {@code value} into element {@code element} of its gradient before the all-reduce. */
    public record GradientFault(long step, int element, float value) {}
    private Runnable afterCheckpoint = () -> { };

    public static final class Result {
        public long steps;
        /**
         * finalLoss: the mean training loss of the last finalLossSteps steps (the last progress
         * window, train.log_every steps), less noisy than lastStepLoss, the loss of the last step alone.
         */
        public double initialLoss, finalLoss = Double.NaN, lastStepLoss = Double.NaN, valLoss = Double.NaN, tokensPerSecond;
        public long finalLossSteps;
        public long tokens;
        public double seconds;
    }

    public Trainer(Backend be, RunConfig rc, ModelConfig mc, TokenCursor train, int[] valTokens, Path runDir, PrintStream progress)
            throws IOException {
        this.be = be;
        this.rc = rc;
        this.mc = mc;
        this.train = train;
        this.valTokens = valTokens;
        this.runDir = runDir;
        this.progress = progress;
        this.batch = rc.batchSize();
        this.seqLen = rc.seqLen();
        this.accum = rc.gradAccum();
        this.params = new ParameterStore(be, ModelLayout.of(mc));
        Initializer.initialize(params, mc, rc.seed());
        this.model = new LlamaModel(be, mc, params, batch, seqLen);
        this.opt = new AdamW(be, (int) params.count(), rc.beta1(), rc.beta2(), rc.eps(), rc.weightDecay());
        this.schedule = new CosineSchedule(rc.lr(), rc.warmupSteps(), rc.decaySteps(), rc.minLrRatio());
        this.windows = new int[batch * (seqLen + 1)];
        this.inputs = new int[batch * seqLen];
        this.targets = new int[batch * seqLen];
        // workers of a distributed run have no run directory of their own: the driver keeps the log
        this.metrics = runDir == null ? null : new MetricsLog(runDir.resolve("metrics.jsonl"));
        this.skipGuard = new SkipGuard(rc.maxSkippedSteps());
    }

    /** Test hook (fault injection); null removes it. */
    public void setGradientFault(GradientFault fault) {
        this.gradientFault = fault;
    }

    /**
     * Makes this trainer one data-parallel worker: each step's gradients are summed over the
     * workers (overlapped with the backward pass) and the loss is scaled by 1/worldSize, so every
     * worker applies the gradient of the mean loss over all workers' micro-batches and the
     * weights stay identical on all of them.
     */
    public void setGradientSync(GradientSync sync) {
        this.gradientSync = sync;
    }

    public ParameterStore params() { return params; }
    public long step() { return step; }

    /**
     * Restores weights, optimizer, step and data cursor from a checkpoint directory. A checkpoint
     * of a distributed run holds one cursor per rank ({@code train_cursors}); worker {@code rank}
     * takes its own, and the worker count must match the run that wrote it.
     */
    public void resume(Path checkpoint) throws IOException {
        resume(checkpoint, 0, 1);
    }

    public void resume(Path checkpoint, int rank, int worldSize) throws IOException {
        CheckpointManifest.Verdict verdict = CheckpointManifest.verify(checkpoint);
        if (!verdict.ok()) throw new CheckpointFormatException(checkpoint.resolve(CheckpointManifest.FILE_NAME), verdict.problem());
        ModelCheckpoint.loadWeights(checkpoint, params);
        ModelCheckpoint.loadOptimizer(checkpoint, params, opt);
        JsonNode st = JsonFiles.readTree(checkpoint.resolve(CheckpointDir.TRAINER_STATE_JSON));
        step = st.get("step").asLong();
        JsonNode cursors = st.get("train_cursors");
        CursorState mine;
        String resharded = "";
        if (cursors != null && cursors.isArray()) {
            if (cursors.size() != worldSize) {
                // elastic resume: the same global batch on another number of workers, cursors re-sharded
                mine = ElasticResume.reshardCursors(checkpoint, st, cursors, rc, train);
                resharded = ", data re-sharded from " + cursors.size() + " to " + worldSize + " workers";
            } else {
                mine = CursorState.fromJson(cursors.get(rank).toString());
            }
        } else {
            if (worldSize != 1) {
                throw new IllegalStateException(checkpoint + " was written by a single-process run; resume it with 1 worker");
            }
            mine = CursorState.fromJson(st.get("train_cursor").toString());
        }
        train.restore(mine);
        if (st.has("initial_loss")) initialLoss = st.get("initial_loss").asDouble();
        skipGuard.restore(st.path("skipped_steps").asLong(0), st.path("consecutive_skipped_steps").asInt(0));
        progress.println("resumed from " + checkpoint + " at step " + step + resharded);
    }

    /**
     * A non-finite loss on this worker (or the test hook's fault) poisons one gradient element so
     * that the all-reduced gradient, and so every worker's skip decision, is non-finite too.
     */
    private GradientPoison poisonFor(double lossSoFar) {
        java.nio.FloatBuffer g = params.grads().storage().floatBuffer();
        int base = params.grads().offset();
        if (gradientFault != null && gradientFault.step() == step) {
            if (g == null) throw new IllegalStateException("the gradient fault hook needs gradients in host memory (a CPU backend)");
            return new GradientPoison(gradientSync, g, base, gradientFault.element(), gradientFault.value());
        }
        // a single worker decides on its own loss (trainOneStep); its gradients may be in GPU memory
        if (gradientSync != null && !Double.isFinite(lossSoFar)) {
            // the last element is the first the backward pass finishes: poisoned before any bucket leaves
            return new GradientPoison(gradientSync, g, base, params.grads().size - 1, Float.NaN);
        }
        return null;
    }

    /** One optimizer step; returns the mean training loss over its micro-batches. */
    double trainStep() throws IOException {
        be.fill(params.grads(), 0.0);
        int world = gradientSync == null ? 1 : gradientSync.worldSize();
        double loss = 0;
        for (int micro = 0; micro < accum; micro++) {
            train.next(windows, batch, seqLen);
            Batches.split(windows, batch, seqLen, inputs, targets);
            loss += model.forwardMean(inputs, targets, 1.0 / ((double) accum * world));
            boolean last = micro == accum - 1;
            GradientPoison poison = last ? poisonFor(loss) : null;
            if (gradientSync != null && last) {
                gradientSync.begin();
                model.backward(poison != null ? poison : gradientSync);
                if (poison != null) poison.afterBackward();
                gradientSync.finish();
            } else {
                model.backward();
                if (poison != null) poison.afterBackward();
            }
        }
        return loss / accum;
    }

    /**
     * One optimizer step at the current step's learning rate: forward/backward over the
     * micro-batches (and the gradient all-reduce in a distributed run), clipping, AdamW.
     *
     * @return this worker's mean training loss over its micro-batches
     */
    public double trainOneStep() throws IOException {
        double lr = schedule.lr(step);
        model.switches().setSparseActivations(step >= rc.denseWarmupSteps());
        double loss = trainStep();
        // the norm of the all-reduced gradient: the same bits on every worker, so every worker decides alike
        double norm = GradClip.norm(be, params.grads());
        lastGradNorm = norm;
        lastLr = lr;
        // several workers: a non-finite loss anywhere is in every rank's norm (poisoned); one worker: check it here
        boolean finite = Double.isFinite(norm) && (gradientSync != null || Double.isFinite(loss));
        lastSkipped = !skipGuard.admit(finite, step, loss, norm, lr, params, be);
        if (!lastSkipped) {
            GradClip.clipTo(be, params.grads(), norm, rc.gradClip());
            opt.step(params.values(), params.grads(), lr);
        }
        // a skipped step still consumed its batches and moves the schedule on: steps count batches
        step++;
        if (initialLoss == null && Double.isFinite(loss)) initialLoss = loss;
        return loss;
    }

    public double lastLr() { return lastLr; }
    /** Whether the last step's update was skipped (non-finite gradient norm or loss). */
    public boolean lastSkipped() { return lastSkipped; }
    /** Steps skipped so far in this run (resumes included). */
    public long skippedSteps() { return skipGuard.skippedSteps(); }
    public double lastGradNorm() { return lastGradNorm; }
    public CursorState cursorState() { return train.state(); }
    public long tokensPerStep() { return (long) batch * seqLen * accum; }

    /** Mean loss over the first evalBatches batches of the validation tokens (the same windows every time). */
    public double evaluate() {
        double[] part = evaluateShare(0, 1);
        return part[1] == 0 ? Double.NaN : part[0] / part[1];
    }

    /**
     * This worker's share of {@link #evaluate()}: of the same batches, those with index = rank mod
     * world. Returns {@code [lossSum, tokenCount]} ([0, 0] without validation tokens); the workers'
     * shares summed give evaluate()'s mean, each worker running 1/world of the forwards.
     */
    public double[] evaluateShare(int rank, int world) {
        if (valTokens == null) return new double[]{0, 0};
        int windowLen = seqLen + 1, perBatch = batch * windowLen;
        long available = valTokens.length / windowLen;
        int batches = (int) Math.min(rc.evalBatches(), available / batch);
        double sum = 0;
        long count = 0;
        for (int b = rank; b < batches; b += world) {
            System.arraycopy(valTokens, b * perBatch, windows, 0, perBatch);
            Batches.split(windows, batch, seqLen, inputs, targets);
            double[] r = model.forward(inputs, targets, 0.0);
            sum += r[0];
            count += (long) r[1];
        }
        return new double[]{sum, count};
    }

    public Result run(long untilStep) throws IOException {
        Result res = new Result();
        long tokensPerStep = (long) batch * seqLen * accum;
        long t0 = System.nanoTime(), startStep = step;
        double lastLoss = Double.NaN;
        long windowStart = System.nanoTime(), windowStep = step;
        // the losses of the last log_every steps: the mean of the progress line's window and final_loss
        double[] recent = new double[(int) Math.max(1, Math.min(rc.logEvery(), 1 << 20))];
        long recentCount = 0;
        while (step < untilStep) {
            double loss = trainOneStep();
            double lr = lastLr, gradNorm = lastGradNorm;
            lastLoss = loss;
            recent[(int) (recentCount++ % recent.length)] = loss;
            ObjectNode m = metrics.record("train");
            m.put("step", step).put("loss", loss).put("lr", lr).put("grad_norm", gradNorm)
                    .put("tokens", step * tokensPerStep);
            if (lastSkipped) m.put("skipped", true).put("skipped_steps", skipGuard.skippedSteps());
            if (step % Math.max(1, rc.logEvery()) == 0 || step == untilStep) {
                double secs = (System.nanoTime() - windowStart) / 1e9;
                double tps = (step - windowStep) * tokensPerStep / secs;
                double eta = (untilStep - step) * tokensPerStep / tps;
                m.put("tokens_per_s", tps);
                int window = (int) (step - windowStep);
                progress.printf("step %d/%d  loss %.4f (mean of steps %d-%d: %.4f)  lr %.2e  grad_norm %.3f  %,.0f tok/s  ETA %s%n",
                        step, untilStep, loss, windowStep + 1, step, meanOfLast(recent, recentCount, window), lr, gradNorm, tps,
                        formatDuration(eta));
                windowStart = System.nanoTime();
                windowStep = step;
            }
            if (metrics != null) metrics.write(m);
            if (rc.evalEvery() > 0 && step % rc.evalEvery() == 0 && step != untilStep) evalAndLog();
            if (rc.checkpointEvery() > 0 && step % rc.checkpointEvery() == 0) checkpoint();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        res.steps = step;
        res.initialLoss = initialLoss == null ? Double.NaN : initialLoss;
        res.lastStepLoss = lastLoss;
        res.finalLossSteps = Math.min(recentCount, recent.length);
        res.finalLoss = meanOfLast(recent, recentCount, (int) res.finalLossSteps);
        res.tokens = (step - startStep) * tokensPerStep;
        res.seconds = secs;
        res.tokensPerSecond = res.tokens / secs;
        res.valLoss = evalAndLog();
        if (rc.checkpointEvery() <= 0 || step % rc.checkpointEvery() != 0) checkpoint();
        return res;
    }

    private double evalAndLog() throws IOException {
        double val = evaluate();
        if (!Double.isNaN(val)) {
            ObjectNode m = metrics.record("eval");
            m.put("step", step).put("val_loss", val).put("val_ppl", Math.exp(val));
            metrics.write(m);
            progress.printf("eval step %d  val_loss %.4f  ppl %.2f%n", step, val, Math.exp(val));
        }
        return val;
    }

    /** Runs after each checkpoint of {@link #run} (e.g. rewriting the run's report); must not throw. */
    public void afterCheckpoint(Runnable r) { this.afterCheckpoint = r; }

    public Path checkpoint() throws IOException {
        ObjectNode st = trainerState();
        st.set("train_cursor", JSON.readTree(train.state().toJson()));
        Path dir = CheckpointDir.stepDir(runDir, step);
        ModelCheckpoint.save(dir, mc, tokenizerInfo(), params, opt, st);
        progress.println("checkpoint " + dir);
        afterCheckpoint.run();
        return dir;
    }

    /**
     * Writes a checkpoint of a distributed run into {@code dir}: the same files, with every rank's
     * data cursor (gathered by the caller, in rank order) instead of one.
     */
    public void checkpointDistributed(Path dir, java.util.List<CursorState> cursorsByRank) throws IOException {
        ObjectNode st = trainerState();
        com.fasterxml.jackson.databind.node.ArrayNode arr = st.putArray("train_cursors");
        for (CursorState c : cursorsByRank) arr.add(JSON.readTree(c.toJson()));
        ModelCheckpoint.save(dir, mc, tokenizerInfo(), params, opt, st);
    }

    /** The run's tokenizer, recorded in every checkpoint's config.json. */
    private io.lowrank.worker.checkpoint.TokenizerInfo tokenizerInfo() {
        return new io.lowrank.worker.checkpoint.TokenizerInfo(rc.tokenizer(), io.lowrank.worker.data.Tokenizers.endOfTextId(rc.tokenizer()));
    }

    private ObjectNode trainerState() throws IOException {
        ObjectNode st = JSON.createObjectNode();
        st.put("step", step);
        if (initialLoss != null) st.put("initial_loss", initialLoss);
        st.put("lr_multiplier", schedule.multiplier(step));
        st.put("skipped_steps", skipGuard.skippedSteps());
        st.put("consecutive_skipped_steps", skipGuard.consecutiveSkips());
        st.set("run_config", rc.toJson());
        return st;
    }

    /** Mean of the last n values written to the ring buffer (count values written in all); NaN for none. */
    static double meanOfLast(double[] ring, long count, int n) {
        n = (int) Math.min(n, Math.min(count, ring.length));
        if (n <= 0) return Double.NaN;
        double sum = 0;
        for (int i = 1; i <= n; i++) sum += ring[(int) ((count - i) % ring.length)];
        return sum / n;
    }

    public static String formatDuration(double seconds) {
        if (!Double.isFinite(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60) : String.format("%dm%02ds", s / 60, s % 60);
    }

    @Override
    public void close() throws IOException { if (metrics != null) metrics.close(); }
}
