package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.prepare.PreparedDataset;
import io.lowrank.spark.report.ReportRefresher;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.train.RunConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.Tuple2;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.IntStream;

/**
 * The driver's training loop: the run is cut into chunks of {@code chunkSteps} steps; each chunk is
 * one Spark job whose first stage is a barrier stage of {@code workers} long-lived tasks (one per
 * worker, see {@link ChunkTask}). A shuffle follows the barrier stage, which makes it a
 * ShuffleMapStage: Spark resubmits a failed barrier ShuffleMapStage (up to
 * {@code spark.stage.maxConsecutiveAttempts}), whereas a failed barrier ResultStage is never
 * retried. When Spark gives up, this loop resumes from the newest complete checkpoint, at most
 * {@code maxChunkRetries} times in a row. Chunks also bound what a failure costs (at most one chunk
 * is redone) and give the UI a job, a description and accumulator values per chunk.
 */
public final class DistributedTraining {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What the run needs beyond the model/train config.
     *
     * @param elastic --elastic: the world size may change between chunks (null: it stays {@code workers})
     */
    public record Plan(String runId, long runToken, RunConfig config, int workers, int threadsPerWorker, long chunkSteps,
                       int maxChunkRetries, int keepCheckpoints, long peerTimeoutMs, PreparedDataset data, long failAtStep,
                       int failRank, String failKind, ElasticWorld.Settings elastic) {
        /** A run of a fixed world size. */
        public Plan(String runId, long runToken, RunConfig config, int workers, int threadsPerWorker, long chunkSteps,
                    int maxChunkRetries, int keepCheckpoints, long peerTimeoutMs, PreparedDataset data, long failAtStep,
                    int failRank, String failKind) {
            this(runId, runToken, config, workers, threadsPerWorker, chunkSteps, maxChunkRetries, keepCheckpoints, peerTimeoutMs,
                    data, failAtStep, failRank, failKind, null);
        }
    }

    public static final class Result {
        public long steps;
        /** the world size of the last chunk (with --elastic it may differ from the plan's) */
        public int workers;
        /** world-size changes made by --elastic in this application */
        public int elasticChanges;
        /**
         * finalLoss: the mean over workers and over the last chunk's finalLossSteps steps (less noisy
         * than one step); lastStepLoss: the mean over workers of the last step alone.
         */
        public double initialLoss = Double.NaN, finalLoss = Double.NaN, lastStepLoss = Double.NaN, valLoss = Double.NaN;
        public long finalLossSteps;
        public double tokensPerSecond;
        public long tokens;
        public int chunks;
        public int chunkRetries;
        /** optimizer steps skipped on every worker for a non-finite gradient (chunks of this application) */
        public long skippedSteps;
        public long allReduceBytes;
        /** 1 - (exposed wait per step) / (standalone all-reduce of the same bytes): how much overlap hid */
        public double allReduceHiddenFraction = Double.NaN;
        public double allReduceExposedSecondsPerStep = Double.NaN;
        public double allReduceStandaloneSeconds = Double.NaN;
        /** by rank, the GPU addresses Spark gave the workers in the last chunk; null when none */
        public String[] gpuAddresses;
    }

    private final JavaSparkContext jsc;
    private final RunDirectory run;
    private final Plan plan;
    private final Configuration hadoopConf;
    private final PrintStream progress;
    private final TrainAccumulators acc;
    private final StringBuilder metricsLines = new StringBuilder();
    private final ReportRefresher report;
    private final ElasticWorld elastic;   // null without --elastic
    /** the current world size and its run config (micro-batch x accumulation): --elastic changes them between chunks */
    private int workers;
    private RunConfig config;

    public DistributedTraining(JavaSparkContext jsc, RunDirectory run, Plan plan, PrintStream progress) throws IOException {
        this.jsc = jsc;
        this.run = run;
        this.plan = plan;
        this.hadoopConf = jsc.hadoopConfiguration();
        this.progress = progress;
        this.acc = new TrainAccumulators(jsc.sc());
        this.report = new ReportRefresher(run.uri(), hadoopConf, progress);
        if (run.exists(RunDirectory.METRICS_JSONL)) metricsLines.append(run.readText(RunDirectory.METRICS_JSONL));
        this.workers = plan.workers();
        this.config = plan.config();
        this.elastic = plan.elastic() == null ? null : new ElasticWorld(jsc.sc(), plan.elastic());
    }

    public Result run() throws IOException {
        try {
            return train();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for executors");
        } finally {
            if (elastic != null) elastic.close();
        }
    }

    private Result train() throws IOException, InterruptedException {
        Result res = new Result();
        long total = plan.config().steps();
        Optional<String> latest = run.latestVerifiedCheckpoint(progress::println);
        long step = latest.isPresent() ? stepOf(latest.get()) : 0;
        if (latest.isPresent()) {
            progress.println("resuming " + run.uri() + " from " + latest.get());
            restoreUnloggedChunk(latest.get(), step);
        }
        int consecutiveFailures = 0, chunk = (int) (step / plan.chunkSteps());
        double lastLoss = Double.NaN, lastTps = Double.NaN;
        long tokens = 0;
        double computeSeconds = 0, exposedSeconds = 0, standaloneSeconds = 0;
        long stepsRun = 0;
        int chunksRun = 0;
        long runStartNanos = System.nanoTime(), firstStep = step;
        // the first chunk of an application waits up to the elastic wait for its workers before it shrinks:
        // executors register one by one after the application starts (Spark's own slot check waits too)
        long graceMs = elastic == null ? 0 : Math.max(elastic.settings().graceMs(), elastic.settings().waitMs());
        while (step < total) {
            if (elastic != null) {
                // the checkpoint's cursors, read once: a retry may start from a checkpoint of the previous world size,
                // and cursors that cannot be re-sharded keep the chunk on the world size that wrote them
                List<io.lowrank.worker.data.CursorState> cursors = latest.isPresent() ? ElasticPlan.cursors(run, latest.get()) : null;
                Optional<String> refusal = cursors == null ? Optional.empty() : ElasticPlan.reshardRefusal(cursors);
                int from = refusal.isPresent() ? cursors.size() : workers;
                ElasticWorld.Decision d = elastic.next(from, ElasticPlan.globalBatch(workers, config), refusal, graceMs);
                if (d.workers() != workers) changeWorld(d, step, latest, res);
                graceMs = elastic.settings().graceMs();
            }
            long end = Math.min(total, step + plan.chunkSteps());
            ChunkSpec spec = new ChunkSpec(plan.runId(), plan.runToken(), chunk, step, end, total, workers,
                    plan.threadsPerWorker(), config.toJson().toString(), plan.data().vocabSize(), run.uri(),
                    plan.data().uri(), latest.orElse(null),
                    RunDirectory.entries(hadoopConf), plan.peerTimeoutMs(), plan.failAtStep(), plan.failRank(),
                    plan.failKind());
            String description = String.format("train steps %d-%d of %d", step + 1, end, total)
                    + (Double.isNaN(lastLoss) ? "" : String.format(", loss %.3f, %,.0f tok/s", lastLoss, lastTps));
            String jobGroup = "lowrank-" + plan.runId();
            jsc.setJobGroup(jobGroup, description, true);
            List<ChunkReport> reports;
            ElasticWorld.Watch watch = elastic == null ? null : elastic.watch(workers, reason -> jsc.sc().cancelJobGroup(jobGroup, reason));
            try {
                reports = runChunk(spec);
            } catch (Exception e) {
                // not only RuntimeException: a job Spark gave up on (stage aborted, job group cancelled) ends in a
                // SparkException, a checked exception that collect() throws undeclared
                if (watch != null) {
                    watch.close();
                    // the watch already waited the grace period for the lost slots: the next decision need not
                    if (watch.fired() != null) graceMs = 0;
                }
                consecutiveFailures++;
                res.chunkRetries++;
                if (consecutiveFailures > plan.maxChunkRetries()) {
                    throw new IllegalStateException("chunk " + chunk + " (steps " + (step + 1) + "-" + end + ") failed "
                            + consecutiveFailures + " times in a row; giving up. Last error: " + rootMessage(e), e);
                }
                latest = run.latestVerifiedCheckpoint(progress::println);
                step = latest.isPresent() ? stepOf(latest.get()) : 0;
                chunk = (int) (step / plan.chunkSteps());
                progress.println("chunk failed (" + rootMessage(e) + "); retry " + consecutiveFailures + "/" + plan.maxChunkRetries()
                        + " from " + latest.orElse("step 0"));
                ObjectNode rm = record("retry");
                rm.put("chunk", chunk).put("from_step", step).put("attempt", consecutiveFailures).put("error", rootMessage(e));
                appendMetric(rm);
                run.writeText(RunDirectory.METRICS_JSONL, metricsLines.toString());
                report.refresh();
                continue;
            } finally {
                if (watch != null) watch.close();
            }
            consecutiveFailures = 0;
            res.skippedSteps += StepSkips.count(reports.get(0));
            ChunkSummary s = ChunkSummary.of(reports, workers);
            metricsLines.append(ChunkLog.trainLines(reports.get(0), s.meanLosses, s.tokensPerStep));
            String stop = StepSkips.stopReason(reports);
            if (stop != null) {   // train.max_skipped_steps non-finite steps in a row: log what was done, do not retry
                appendMetric(record("stopped").put("step", reports.get(0).endStep).put("reason", stop));
                run.writeText(RunDirectory.METRICS_JSONL, metricsLines.toString());
                throw new IllegalStateException(stop + " (run " + run.uri() + ", last checkpoint " + latest.orElse("none") + ")");
            }
            ObjectNode cm = record("chunk");
            cm.put("chunk", chunk).put("workers", workers).put("first_step", step + 1).put("last_step", end).put("tokens_per_s", s.tokensPerSecond)
                    .put("seconds", s.seconds).put("setup_seconds", s.setupSeconds).put("workers_reused", s.workersReused).put("allreduce_bytes", s.allReduceBytes)
                    .put("allreduce_exposed_s", s.exposedSeconds).put("allreduce_comm_s", s.commSeconds)
                    .put("allreduce_standalone_s", s.standaloneSeconds)
                    .put("stage_attempt", s.stageAttempt).put("checkpoint", s.checkpoint)
                    .put("skipped_steps", StepSkips.count(reports.get(0)));
            if (s.gpuAddresses != null) {
                // by rank: the GPU address Spark gave each worker's task (and the CUDA device it bound)
                com.fasterxml.jackson.databind.node.ArrayNode ga = cm.putArray("gpu_addresses"), dev = cm.putArray("cuda_devices");
                for (int r = 0; r < s.gpuAddresses.length; r++) {
                    ga.add(s.gpuAddresses[r]);
                    dev.add(s.deviceOrdinals[r]);
                }
            }
            appendMetric(cm);
            if (!Double.isNaN(s.valLoss)) {
                ObjectNode em = record("eval");
                em.put("step", end).put("val_loss", s.valLoss).put("val_ppl", Math.exp(s.valLoss));
                appendMetric(em);
            }
            run.writeText(RunDirectory.METRICS_JSONL, metricsLines.toString());
            run.pruneCheckpoints(plan.keepCheckpoints(), progress::println);   // after the log: the chunk's lines no longer need its checkpoint
            report.refresh();   // report.html + loss.png, to watch the run; never fails it
            if (Double.isNaN(res.initialLoss) && step == 0) res.initialLoss = s.meanLosses[0];
            lastLoss = s.meanLosses[s.meanLosses.length - 1];
            double chunkMeanLoss = mean(s.meanLosses);
            res.finalLoss = chunkMeanLoss;
            res.lastStepLoss = lastLoss;
            res.finalLossSteps = s.meanLosses.length;
            lastTps = s.tokensPerSecond;
            tokens += s.tokens;
            computeSeconds += s.seconds;
            exposedSeconds += s.exposedSeconds;
            standaloneSeconds += s.standaloneSeconds;
            stepsRun += end - step;
            chunksRun++;
            res.valLoss = s.valLoss;
            res.gpuAddresses = s.gpuAddresses;
            res.allReduceBytes += s.allReduceBytes;
            double exposedPerStep = s.exposedSeconds / Math.max(1, end - step);
            // ETA from the wall time of the chunks so far, Spark's scheduling and checkpoints included
            double eta = (System.nanoTime() - runStartNanos) / 1e9 / (end - firstStep) * (total - end);
            progress.println(chunkLine(chunk, step + 1, end, total, workers, chunkMeanLoss, lastLoss, s.valLoss,
                    s.tokensPerSecond, eta, s.allReduceBytes / Math.max(1, end - step), exposedPerStep, s.standaloneSeconds)
                    + (s.stageAttempt > 0 ? "  (stage attempt " + s.stageAttempt + ")" : ""));
            latest = Optional.of(s.checkpoint);
            step = end;
            chunk++;
            res.chunks++;
        }
        res.steps = step;
        res.workers = workers;
        res.tokens = tokens;
        res.tokensPerSecond = computeSeconds > 0 ? tokens / computeSeconds : Double.NaN;
        if (standaloneSeconds > 0 && stepsRun > 0) {
            res.allReduceExposedSecondsPerStep = exposedSeconds / stepsRun;
            res.allReduceStandaloneSeconds = standaloneSeconds / chunksRun;
            res.allReduceHiddenFraction = Math.max(0, 1 - res.allReduceExposedSecondsPerStep / res.allReduceStandaloneSeconds);
        }
        if (Double.isNaN(res.initialLoss)) res.initialLoss = ChunkLog.initialLoss(metricsLines.toString());
        return res;
    }

    /**
     * --elastic: the next chunk runs on {@code d.workers()} workers. Micro-batch and accumulation are
     * re-planned for the same global batch (as {@code train --resume --workers} does), run.json is
     * updated so that a later --resume continues on them, and the change is printed and logged. The
     * chunk starts from {@code latest}, whose data cursors the workers re-shard when they load it.
     */
    private void changeWorld(ElasticWorld.Decision d, long step, Optional<String> latest, Result res) throws IOException {
        RunConfig next = ElasticPlan.replan(config, workers, d.workers(), null, elastic.settings().maxMicroBatch());
        long global = ElasticPlan.globalBatch(workers, config);
        progress.printf("elastic: %d -> %d workers at step %d: %d barrier slot%s available (%s); %s; starting from %s%n",
                workers, d.workers(), step, d.slots(), d.slots() == 1 ? "" : "s", d.events(), ElasticPlan.describe(workers, config, d.workers(), next),
                latest.map(c -> c + " (data cursors re-sharded)").orElse("step 0"));
        ObjectNode em = record("elastic");
        em.put("step", step).put("from_workers", workers).put("to_workers", d.workers()).put("slots", d.slots())
                .put("micro_batch", next.batchSize()).put("grad_accum", next.gradAccum()).put("global_batch", global)
                .put("range", elastic.settings().range().toString()).put("events", d.events());
        appendMetric(em);
        run.writeText(RunDirectory.METRICS_JSONL, metricsLines.toString());
        ObjectNode runJson = (ObjectNode) JSON.readTree(run.readText(RunDirectory.RUN_JSON));
        ElasticPlan.record(runJson, d.workers(), next);
        run.writeText(RunDirectory.RUN_JSON, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(runJson));
        workers = d.workers();
        config = next;
        res.elasticChanges++;
    }

    /**
     * The progress line of one chunk. Losses are means over the workers (each worker trains on its
     * own micro-batches): over the chunk's steps, and of its last step. tok/s counts every worker's
     * tokens (the job's rate). The all-reduce figures: "exposed" is how long per step the training
     * thread waited for the gradient all-reduce after its backward pass (the part not hidden behind
     * compute; slowest worker); "standalone" is one all-reduce of the same gradient timed alone, with
     * nothing else running (what it would cost without overlap).
     */
    static String chunkLine(int chunk, long firstStep, long lastStep, long total, int workers, double meanLoss, double lastStepLoss,
                            double valLoss, double tokensPerSecond, double etaSeconds, long allReduceBytesPerStep,
                            double exposedSecondsPerStep, double standaloneSeconds) {
        String allReduce = workers == 1 ? "no all-reduce (1 worker)"
                : String.format("all-reduce %.1f MB/step: waited %.0f ms/step after backward (exposed), %.0f ms alone (standalone)",
                        allReduceBytesPerStep / 1e6, 1e3 * exposedSecondsPerStep, 1e3 * standaloneSeconds);
        long steps = lastStep - firstStep + 1;
        return String.format("chunk %d: steps %d-%d/%d  loss %.4f (mean of %d worker%s x %d step%s; last step %.4f)  %s  %,.0f tok/s (job)"
                        + "  ETA %s  %s",
                chunk, firstStep, lastStep, total, meanLoss, workers, workers == 1 ? "" : "s", steps, steps == 1 ? "" : "s", lastStepLoss,
                Double.isFinite(valLoss) ? String.format("val %.4f", valLoss) : "no val (no held-out sequences)", tokensPerSecond,
                io.lowrank.worker.train.Trainer.formatDuration(etaSeconds), allReduce);
    }

    private static double mean(double[] v) {
        double sum = 0;
        for (double x : v) sum += x;
        return sum / v.length;
    }

    /**
     * A driver killed between a chunk's checkpoint and its log line leaves the log one chunk short:
     * the checkpoint carries that chunk's lines ({@link ChunkLog}), which are appended here.
     */
    private void restoreUnloggedChunk(String checkpoint, long checkpointStep) throws IOException {
        long logged = ChunkLog.lastTrainStep(metricsLines.toString());
        if (logged >= checkpointStep) return;
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(checkpoint, ChunkLog.FILE_NAME);
        if (!run.fileSystem().exists(file)) return;
        String lines;
        try (var in = run.fileSystem().open(file)) {
            lines = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        String restored = ChunkLog.linesAfter(lines, logged);
        metricsLines.append(restored);
        run.writeText(RunDirectory.METRICS_JSONL, metricsLines.toString());
        progress.println("restored the log of steps " + (logged + 1) + "-" + checkpointStep + " from " + checkpoint);
    }

    private List<ChunkReport> runChunk(ChunkSpec spec) {
        JavaRDD<Integer> ranks = jsc.parallelize(new ArrayList<>(IntStream.range(0, spec.worldSize()).boxed().toList()), spec.worldSize());
        RDD<ChunkReport> trained = ranks.rdd().barrier()
                .mapPartitions(new ChunkTask(spec, acc), false, ClassTag$.MODULE$.apply(ChunkReport.class));
        // the shuffle makes the barrier stage a ShuffleMapStage, which Spark retries as a whole
        List<ChunkReport> reports = new ArrayList<>(trained.toJavaRDD()
                .mapToPair(r -> new Tuple2<>(r.rank, r))
                .partitionBy(new HashPartitioner(1))
                .values()
                .collect());
        reports.sort(Comparator.comparingInt(r -> r.rank));
        if (reports.size() != spec.worldSize()) {
            throw new IllegalStateException("chunk " + spec.chunk() + " returned " + reports.size() + " reports for " + spec.worldSize() + " workers");
        }
        return reports;
    }

    private ObjectNode record(String kind) {
        ObjectNode n = JSON.createObjectNode();
        n.put("kind", kind);
        n.put("time", System.currentTimeMillis() / 1000.0);
        return n;
    }

    private void appendMetric(ObjectNode n) {
        metricsLines.append(n.toString()).append('\n');
    }

    public static long stepOf(String checkpointUri) {
        String name = new org.apache.hadoop.fs.Path(checkpointUri).getName();
        OptionalLong s = CheckpointDir.parseStep(name);
        if (s.isEmpty()) throw new IllegalArgumentException("not a checkpoint directory name: " + checkpointUri);
        return s.getAsLong();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String first = String.valueOf(e.getMessage()).split("\n")[0];
        return t == e ? first : first + " / cause: " + t;
    }

    /** The reports of one chunk folded into run-level numbers. */
    static final class ChunkSummary {
        double[] meanLosses;
        long tokens, tokensPerStep, allReduceBytes;
        double seconds, setupSeconds, tokensPerSecond, exposedSeconds, commSeconds, standaloneSeconds, valLoss = Double.NaN;
        String checkpoint;
        int stageAttempt, workersReused;
        String[] gpuAddresses;   // by rank; null when no task was given a GPU
        int[] deviceOrdinals;    // by rank; -1 on the CPU backend

        static ChunkSummary of(List<ChunkReport> reports, int world) {
            ChunkSummary s = new ChunkSummary();
            ChunkReport r0 = reports.get(0);
            int n = r0.losses.length;
            s.meanLosses = new double[n];
            for (ChunkReport r : reports) {
                if (r.losses.length != n) throw new IllegalStateException("workers ran different step counts in one chunk");
                for (int i = 0; i < n; i++) s.meanLosses[i] += r.losses[i] / world;
                s.tokens += r.tokens;
                s.seconds = Math.max(s.seconds, r.seconds);
                s.setupSeconds = Math.max(s.setupSeconds, r.setupSeconds);
                s.exposedSeconds = Math.max(s.exposedSeconds, r.allReduceExposedNanos / 1e9);
                s.commSeconds = Math.max(s.commSeconds, r.allReduceCommNanos / 1e9);
                s.standaloneSeconds = Math.max(s.standaloneSeconds, r.standaloneAllReduceSeconds);
                s.stageAttempt = Math.max(s.stageAttempt, r.stageAttempt);
                if (r.workerReused) s.workersReused++;
                if (r.gpuAddress != null || r.deviceOrdinal >= 0) {
                    if (s.gpuAddresses == null) {
                        s.gpuAddresses = new String[reports.size()];
                        s.deviceOrdinals = new int[reports.size()];
                        java.util.Arrays.fill(s.deviceOrdinals, -1);
                    }
                    s.gpuAddresses[r.rank] = r.gpuAddress;
                    s.deviceOrdinals[r.rank] = r.deviceOrdinal;
                }
            }
            s.allReduceBytes = r0.allReduceBytes;
            s.tokensPerStep = n == 0 ? 0 : s.tokens / n;
            s.tokensPerSecond = s.seconds > 0 ? s.tokens / s.seconds : Double.NaN;
            s.valLoss = r0.valLoss;
            s.checkpoint = r0.checkpoint;
            return s;
        }
    }

}
