package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.prepare.PreparedDataset;
import io.lowrank.spark.metrics.LiveMetrics;
import io.lowrank.spark.metrics.StepUpdate;
import io.lowrank.worker.cli.TrainLocalCommand;
import io.lowrank.worker.comm.AeronRingAllReduce;
import io.lowrank.worker.data.CursorState;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.BackendChoice;
import io.lowrank.worker.tensor.Backends;
import io.lowrank.worker.train.GradientSync;
import io.lowrank.worker.train.NonFiniteStepsException;
import io.lowrank.worker.train.RunConfig;
import io.lowrank.worker.train.Trainer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.BarrierTaskContext;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The body of one barrier task: worker {@code partitionId} of a chunk. Continues the trainer this
 * executor kept from the previous chunk ({@link ResidentWorkers}) or loads the chunk's starting
 * checkpoint, joins the ring, trains {@code [startStep, endStep)} with its gradients all-reduced,
 * gathers every rank's data cursor and (rank 0) publishes the checkpoint at {@code endStep}. Every
 * attempt of a chunk starts from the same state (kept in memory at exactly that step, or the
 * checkpoint) and the same cursors, so a retried chunk repeats exactly the steps and sequences of
 * the failed one.
 */
public final class ChunkTask extends AbstractFunction1<Iterator<Integer>, Iterator<ChunkReport>> implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ChunkSpec spec;
    private final TrainAccumulators acc;

    public ChunkTask(ChunkSpec spec, TrainAccumulators acc) {
        this.spec = spec;
        this.acc = acc;
    }

    @Override
    public Iterator<ChunkReport> apply(Iterator<Integer> partition) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        try {
            return scala.package$.MODULE$.Iterator().single(run(ctx));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("worker " + ctx.partitionId() + " of chunk " + spec.chunk() + ": " + e.getMessage(), e);
        }
    }

    private ChunkReport run(BarrierTaskContext ctx) throws IOException {
        long t0 = System.nanoTime();
        int rank = ctx.partitionId(), world = spec.worldSize();
        if (ctx.getTaskInfos().length != world) {
            throw new IllegalStateException("chunk " + spec.chunk() + " runs " + ctx.getTaskInfos().length + " barrier tasks, expected " + world);
        }
        PrintStream log = System.err;
        Configuration conf = RunDirectory.configuration(spec.hadoopConf());
        Path scratch = Files.createTempDirectory("lowrank-" + spec.runId() + "-rank" + rank + "-");
        Path cache = Path.of(System.getProperty("java.io.tmpdir"), "lowrank-cache", spec.runId(), "rank-" + rank);
        ChunkReport report = new ChunkReport();
        report.rank = rank;
        report.stageAttempt = ctx.stageAttemptNumber();
        report.host = ctx.getTaskInfos()[rank].address();
        TaskGpu gpu = TaskGpu.of(ctx, rank);
        report.gpuAddress = gpu.address;
        try {
            RunConfig rc = RunConfig.fromJson(JSON.readTree(spec.runConfigJson()), "run config of " + spec.runId());
            BackendChoice choice = backendChoice(rc).onDevice(gpu.deviceOrdinal);
            if (choice.kind == BackendChoice.Kind.CUDA) report.deviceOrdinal = gpu.deviceOrdinal;
            if (gpu.address != null || choice.kind == BackendChoice.Kind.CUDA) {
                log.printf("[rank %d] chunk %d on %s: %s, backend %s%n", rank, spec.chunk(), report.host, gpu, choice);
            }
            // a kept trainer is bound to the GPU of its previous task: reuse it only on the same address
            ResidentWorkers.Key residentKey = ResidentWorkers.key(spec, rank, gpu.address);
            ResidentWorkers.Worker worker = ResidentWorkers.take(residentKey, spec.startStep());
            report.workerReused = worker != null;
            if (worker == null) {
                worker = buildWorker(conf, cache, scratch, rc, choice, rank, world, log);
            } else {
                log.printf("[rank %d] chunk %d continues the trainer this executor kept at step %d (no checkpoint reload)%n",
                        rank, spec.chunk(), spec.startStep());
            }
            boolean keepWorker = false, runDone = false;
            try {
                Trainer trainer = worker.trainer();
                AeronRingAllReduce ring = world > 1 ? WorkerRing.join(ctx, spec) : null;
                try {
                    GradientSync sync = ring == null ? null : new GradientSync(ring, trainer.params().grads(), rc.bucketMb());
                    trainer.setGradientSync(sync);
                    report.setupSeconds = (System.nanoTime() - t0) / 1e9;
                    train(ctx, trainer, sync, report, log, rc);
                    if (report.stopReason != null) return report;   // every rank stopped at the same step: no checkpoint
                    if (sync != null) {
                        report.standaloneAllReduceSeconds = sync.timeStandaloneAllReduce();
                        report.allReduceBytes = sync.bytes();
                        report.allReduceExposedNanos = sync.exposedNanos();
                        report.allReduceCommNanos = sync.commNanos();
                        acc.allReduceBytes.add(sync.bytes());
                        acc.allReduceExposedMs.add(sync.exposedNanos() / 1_000_000);
                    }
                    // each rank evaluates its share of the held-out batches; every rank's cursor goes into
                    // the checkpoint; allGather is also the barrier that keeps each ring open until all
                    // ranks have received their last bucket
                    double[] evalShare = trainer.evaluateShare(rank, world);
                    String[] gathered = ctx.allGather(trainer.cursorState().toJson() + "\n" + joinLosses(report.losses)
                            + "\n" + evalShare[0] + "," + evalShare[1]);
                    if (rank == 0) {
                        List<CursorState> byRank = new ArrayList<>();
                        double[] meanLosses = new double[report.losses.length];
                        double evalSum = 0, evalCount = 0;
                        for (String g : gathered) {
                            String[] parts = g.split("\n", 3);
                            byRank.add(CursorState.fromJson(parts[0]));
                            String[] ls = parts[1].split(",");
                            for (int i = 0; i < meanLosses.length; i++) meanLosses[i] += Double.parseDouble(ls[i]) / world;
                            String[] ev = parts[2].split(",");
                            evalSum += Double.parseDouble(ev[0]);
                            evalCount += Double.parseDouble(ev[1]);
                        }
                        report.valLoss = evalCount == 0 ? Double.NaN : evalSum / evalCount;
                        Path local = scratch.resolve("checkpoint");
                        trainer.checkpointDistributed(local, byRank);
                        // the chunk's log travels with its checkpoint: a driver killed after the checkpoint
                        // was published but before it logged the chunk restores the lines from here
                        Files.writeString(local.resolve(ChunkLog.FILE_NAME), ChunkLog.trainLines(report, meanLosses, trainer.tokensPerStep() * world));
                        report.checkpoint = new RunDirectory(spec.runDir(), conf).publishCheckpoint(local, trainer.step());
                    }
                    ctx.barrier();  // the chunk counts as done only once its checkpoint is published
                    keepWorker = spec.endStep() < spec.totalSteps();
                    runDone = !keepWorker;
                } finally {
                    trainer.setGradientSync(null);   // the sync belongs to this chunk's ring
                    if (ring != null) ring.close();
                }
            } finally {
                if (!(keepWorker && ResidentWorkers.keep(residentKey, worker))) worker.close();
                if (runDone) {
                    // the run's last chunk succeeded: this rank's local dataset copies are not needed any more
                    // (a failed chunk keeps them for its retry)
                    deleteRecursively(cache);
                    try {
                        Files.deleteIfExists(cache.getParent());   // the run's cache directory, once every rank here is done
                    } catch (IOException notEmptyYet) {
                        // another rank of this executor still has its copies; the last one removes it
                    }
                }
            }
            return report;
        } finally {
            deleteRecursively(scratch);
        }
    }

    /** A fresh backend and trainer at the chunk's start: verified local data, then the checkpoint. */
    private ResidentWorkers.Worker buildWorker(Configuration conf, Path cache, Path scratch, RunConfig rc, BackendChoice choice, int rank,
                                               int world, PrintStream log) throws IOException {
        ModelConfig mc = rc.model(spec.vocabSize());
        // verified local copies, kept across chunks in the executor's temp space
        PreparedDataset.Local data = PreparedDataset.open(conf, spec.datasetDir()).localize(conf, cache);
        List<Path> trainFiles = data.train();
        int[] val = !data.val().isEmpty() ? TrainLocalCommand.readAll(data.val(), mc.vocabSize) : null;   // every rank evaluates a share
        Backend be = Backends.open(choice);
        ResidentWorkers.Worker worker = null;
        try {
            worker = new ResidentWorkers.Worker(be, new Trainer(be, rc, mc, new TokenCursor(trainFiles, rank, world), val, null, log));
            Trainer trainer = worker.trainer();
            if (spec.resumeFrom() != null) {
                trainer.resume(RunDirectory.localize(spec.resumeFrom(), conf, scratch), rank, world);
            }
            if (trainer.step() != spec.startStep()) {
                throw new IllegalStateException("chunk " + spec.chunk() + " should start at step " + spec.startStep()
                        + " but checkpoint " + spec.resumeFrom() + " is at step " + trainer.step());
            }
            return worker;
        } catch (IOException | RuntimeException e) {
            if (worker != null) worker.close(); else be.close();
            throw e;
        }
    }

    /** The run's backend (train.backend, train.precision) with the chunk's threads; workers train in float32. */
    private BackendChoice backendChoice(RunConfig rc) {
        return BackendChoice.of("train.backend", rc.backend(), "train.precision", rc.precision(), "train.dtype", "float32",
                spec.threads(), 0);
    }

    private void train(BarrierTaskContext ctx, Trainer trainer, GradientSync sync, ChunkReport report, PrintStream log, RunConfig rc)
            throws IOException {
        int n = (int) (spec.endStep() - spec.startStep());
        report.startStep = spec.startStep();
        report.endStep = spec.endStep();
        report.losses = new double[n];
        report.learningRates = new double[n];
        report.gradNorms = new double[n];
        report.skipped = new boolean[n];
        report.stepEndTimes = new double[n];
        report.stepExposedMs = new double[n];
        double exposedMs = sync == null ? 0 : sync.exposedNanos() / 1e6;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long step = spec.startStep() + i;
            if (step == spec.failAtStep() && ctx.partitionId() == spec.failRank()) {
                if ("nonfinite".equals(spec.failKind())) {
                    log.println("fault injection: rank " + spec.failRank() + " writes a NaN into its gradient at step " + step);
                    trainer.setGradientFault(new Trainer.GradientFault(step, 0, Float.NaN));
                } else {
                    injectFault(step, log);
                }
            }
            double loss;
            try {
                loss = trainer.trainOneStep();
            } catch (NonFiniteStepsException e) {
                StepSkips.stop(report, i, e, log);
                return;
            }
            report.losses[i] = loss;
            report.learningRates[i] = trainer.lastLr();
            report.gradNorms[i] = trainer.lastGradNorm();
            report.skipped[i] = trainer.lastSkipped();
            if (trainer.lastSkipped() && ctx.partitionId() == 0) acc.skippedSteps.add(1);
            report.stepEndTimes[i] = System.currentTimeMillis() / 1000.0;
            if (sync == null) {
                report.stepExposedMs[i] = Double.NaN;
            } else {
                report.stepExposedMs[i] = sync.exposedNanos() / 1e6 - exposedMs;
                exposedMs += report.stepExposedMs[i];
            }
            acc.steps.add(ctx.partitionId() == 0 ? 1 : 0);
            acc.tokens.add(trainer.tokensPerStep());
            acc.lossSum.add(loss);
            if (ctx.partitionId() == 0) publishLive(step + 1, loss, trainer, sync, start, i + 1);
            if (ctx.partitionId() == 0 && ((step + 1) % Math.max(1, rc.logEvery()) == 0 || i == n - 1)) {
                // the workers step in lockstep (the all-reduce), so the job's rate is rank 0's times the
                // workers; the loss is rank 0's own (the chunk line has the mean over workers)
                double secs = (System.nanoTime() - start) / 1e9;
                double eta = secs / (i + 1) * (spec.totalSteps() - step - 1);
                log.printf("[rank 0] step %d/%d  loss %.4f (rank 0's micro-batches)  lr %.2e  %,.0f tok/s (job)  ETA %s (chunk overhead not counted)%n",
                        step + 1, spec.totalSteps(), loss, trainer.lastLr(),
                        (i + 1) * trainer.tokensPerStep() * spec.worldSize() / secs, Trainer.formatDuration(eta));
            }
        }
        report.seconds = (System.nanoTime() - start) / 1e9;
        report.tokens = n * trainer.tokensPerStep();
    }

    /** Live numbers for the Spark plugin: tokens/s over all workers, bus bandwidth of the all-reduce so far. */
    private void publishLive(long step, double loss, Trainer trainer, GradientSync sync, long startNanos, int stepsDone) {
        double secs = (System.nanoTime() - startNanos) / 1e9;
        double tps = stepsDone * trainer.tokensPerStep() * spec.worldSize() / secs;
        double busbw = 0;
        if (sync != null && sync.commNanos() > 0) {
            int p = spec.worldSize();
            busbw = sync.bytes() / (sync.commNanos() / 1e9) * 2.0 * (p - 1) / p / 1e9;
        }
        LiveMetrics.publish(new StepUpdate(step, loss, tps, busbw));
    }

    private static String joinLosses(double[] losses) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < losses.length; i++) sb.append(i == 0 ? "" : ",").append(losses[i]);
        return sb.toString();
    }

    /**
     * Test hook (--fail-at-step): halts this executor's JVM, like a lost node, once per run. The
     * marker file on the run's file system makes the retried chunk run through.
     */
    private void injectFault(long step, PrintStream log) throws IOException {
        RunDirectory run = new RunDirectory(spec.runDir(), RunDirectory.configuration(spec.hadoopConf()));
        String marker = "fault-injected-step-" + step;
        if (run.exists(marker)) return;
        run.writeText(marker, "rank " + spec.failRank() + " halted its JVM before step " + step + "\n");
        log.println("fault injection: rank " + spec.failRank() + " halts its JVM before step " + step);
        log.flush();
        Runtime.getRuntime().halt(137);
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // under java.io.tmpdir: scratch (the next chunk uses a new one) or a finished run's cache
        }
    }
}
