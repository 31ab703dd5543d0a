package io.lowrank.spark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.prepare.PrepareJob;
import io.lowrank.spark.prepare.PrepareOptions;
import io.lowrank.spark.prepare.PrepareResult;
import io.lowrank.spark.prepare.PreparedDataset;
import io.lowrank.spark.train.DistributedTraining;
import io.lowrank.spark.train.ElasticPlan;
import io.lowrank.spark.train.ElasticRange;
import io.lowrank.spark.train.ElasticWorld;
import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.worker.cli.Cli;
import io.lowrank.worker.cli.TrainLocalCommand;
import io.lowrank.worker.cli.TrainOverrides;
import io.lowrank.worker.cli.UsageException;
import io.lowrank.worker.tensor.BackendChoice;
import io.lowrank.worker.train.RunConfig;
import io.lowrank.worker.train.RunSummary;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * {@code train}: distributed data-parallel training on Spark.
 * <pre>
 *   lowrank train --preset tiny --layer cola --master local[2] --workers 2 --steps 200 --run-dir runs/demo
 *   lowrank train --resume runs/demo            # continue a run in a new application
 * </pre>
 * The run's settings are stored in {@code run.json} in the run directory, so that {@code --resume}
 * needs nothing else. Last stdout line: one JSON object with the run's numbers.
 */
@Command(name = "train", description = "train on Spark: data-parallel workers in Spark tasks (--master local[N] by default)")
public final class SparkTrainCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The demo corpus that bin/fetch-demo-corpus writes under the installation directory. */
    static final Path DEMO_CORPUS = Path.of(System.getProperty("lowrank.home", ".")).resolve("data/demo/demo-corpus.txt");

    @Option(names = "--preset", paramLabel = "P", description = "model and training preset: tiny, 60m, 130m, 350m, 1b, 7b (conf/presets; required unless --resume)")
    String preset;

    @Option(names = "--layer", paramLabel = "L", description = "projection layers: full, cola, cola-m, crnet, elas (default: full)")
    String layer;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master: local[N], local-cluster[..], spark://, yarn, k8s:// (default: spark-submit's, else local[*])")
    String master;

    @Option(names = "--workers", paramLabel = "W", description = "data-parallel workers, one Spark task each; with --resume: continue on W workers, same global batch, data re-sharded (default: 1, or the run's)")
    Integer workers;

    @Option(names = "--elastic", paramLabel = "MIN..MAX",
            description = "let the driver shrink to the executors available (down to MIN workers) and grow back (up to MAX) between chunks, same global batch; off turns it off on --resume (default: off, or the run's)")
    String elasticOption;

    @Option(names = "--elastic-wait-s", paramLabel = "S", defaultValue = "300",
            description = "with --elastic: seconds to wait for executors when no world size in the range can run, then fail (default: ${DEFAULT-VALUE})")
    int elasticWaitS;

    @Option(names = "--elastic-grace-s", paramLabel = "S", defaultValue = "15",
            description = "with --elastic: seconds the barrier slots may stay below the workers before the run shrinks (default: ${DEFAULT-VALUE})")
    int elasticGraceS;

    @Option(names = "--run-dir", paramLabel = "URI", description = "run directory on any Hadoop file system: run.json, checkpoints, metrics (default: runs/PRESET-LAYER)")
    String runDirOption;

    @Option(names = "--corpus", paramLabel = "URI", description = "text/JSONL/Parquet corpus, prepared into RUN_DIR/data first (default: the demo corpus of bin/fetch-demo-corpus)")
    String corpus;

    @Option(names = "--data", paramLabel = "DATASET", description = "a dataset written by lowrank prepare, instead of --corpus (default: none)")
    String dataset;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "continue the run in RUN_DIR from its newest complete checkpoint (default: a new run)")
    String resume;

    @Option(names = "--chunk-steps", paramLabel = "N", description = "steps per Spark job; workers checkpoint and restart between chunks (default: steps/4, at most 100)")
    Long chunkSteps;

    @Option(names = "--max-chunk-retries", paramLabel = "N", defaultValue = "3", description = "retries of a failed chunk from its last checkpoint (default: ${DEFAULT-VALUE})")
    int maxChunkRetries;

    @Option(names = "--keep-checkpoints", paramLabel = "N", defaultValue = "3", description = "complete checkpoints to keep, 0 keeps all (default: ${DEFAULT-VALUE})")
    int keepCheckpoints;

    @Option(names = "--threads", paramLabel = "T", description = "compute threads per worker (default: local[N]'s N / workers, else the preset's train.threads)")
    Integer threads;

    @Option(names = "--peer-timeout-s", paramLabel = "S", defaultValue = "60", description = "seconds a worker waits for its all-reduce peers before failing the chunk (default: ${DEFAULT-VALUE})")
    int peerTimeoutS;

    @Option(names = "--barrier-timeout-s", paramLabel = "S", defaultValue = "900", description = "seconds Spark waits for all workers of a chunk to start (default: ${DEFAULT-VALUE})")
    int barrierTimeoutS;

    @Option(names = "--fail-at-step", paramLabel = "N", defaultValue = "-1", description = "testing: make one worker fail at step N, once (default: never)")
    long failAtStep;

    @Option(names = "--fail-rank", paramLabel = "R", defaultValue = "0", description = "testing: the worker that --fail-at-step fails (default: ${DEFAULT-VALUE})")
    int failRank;

    @Option(names = "--fail-kind", paramLabel = "K", defaultValue = "halt",
            description = "testing: halt (the worker's executor JVM halts, once) or nonfinite (a NaN in its gradient: every worker skips that step) (default: ${DEFAULT-VALUE})")
    String failKind;

    @Option(names = "--gpus-per-worker", paramLabel = "G",
            description = "GPUs Spark assigns each worker's task, 0 or 1 (one worker per GPU): requests spark.task/executor.resource.gpu.amount (default: 1 with --backend cuda, else 0)")
    Integer gpusPerWorker;

    @Mixin
    TrainOverrides overrides = new TrainOverrides();

    /** Runs {@code train} on argv (argv[0] may be the word "train"); returns the exit code. */
    public static int run(String[] argv) {
        int from = argv.length > 0 && argv[0].equals("train") ? 1 : 0;
        return Cli.run(new SparkTrainCommand(), java.util.Arrays.copyOfRange(argv, from, argv.length));
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        boolean resume = this.resume != null;
        if (!resume && preset == null) throw new UsageException("train: --preset is required (or --resume RUN_DIR)");
        String runDirUri = resume ? this.resume : runDirOption != null ? runDirOption
                : "runs/" + preset + "-" + (layer == null ? "full" : layer);

        Configuration bootstrap = new Configuration();
        RunDirectory run = new RunDirectory(runDirUri, bootstrap);
        ObjectNode runJson;
        RunConfig rc;
        boolean extended = false;   // --resume with a larger --steps
        if (resume) {
            if (!run.exists(RunDirectory.RUN_JSON)) {
                throw new UsageException("train --resume " + runDirUri + ": no " + RunDirectory.RUN_JSON + " there; is this a run directory of `lowrank train`?");
            }
            runJson = (ObjectNode) JSON.readTree(run.readText(RunDirectory.RUN_JSON));
            rc = RunConfig.fromJson(runJson.get("run_config"), run.uri() + "/" + RunDirectory.RUN_JSON);
            // --workers and --batch may change (elastic resume): ElasticPlan keeps the global batch and re-shards the data
            Object[][] fixed = {{"--preset", preset}, {"--layer", layer}, {"--data", dataset}, {"--corpus", corpus},
                    {"--set", overrides.set.isEmpty() ? null : overrides.set}, {"--seq-len", overrides.seqLen},
                    {"--lr", overrides.lr}, {"--chunk-steps", chunkSteps}};
            for (Object[] o : fixed) {
                if (o[1] != null) throw new UsageException("train --resume: " + o[0] + " cannot change on resume (it is fixed in " + RunDirectory.RUN_JSON + ")");
            }
            // the hardware may change on resume (a CPU run continued on GPUs): this application only
            java.util.Map<String, String> hw = new java.util.LinkedHashMap<>();
            if (overrides.backend != null) hw.put("train.backend", overrides.backend);
            if (overrides.precision != null) hw.put("train.precision", overrides.precision);
            if (!hw.isEmpty()) rc = rc.with(hw);
            if (overrides.steps != null && overrides.steps != rc.steps()) {
                // written to run.json once the run directory is opened with Spark's Hadoop settings
                rc = TrainOverrides.extend(rc, overrides.steps, out);
                runJson.set("run_config", rc.toJson());
                extended = true;
            }
            // the newest checkpoint that passes its checksums: a corrupt last one means the run is not finished
            // (the resume below falls back to the one before and warns, naming the file)
            Optional<String> latest = run.latestVerifiedCheckpoint(warning -> { });
            long done = latest.isPresent() ? DistributedTraining.stepOf(latest.get()) : 0;
            if (done >= rc.steps()) return finished(run, runJson, done, rc, out);
        } else {
            if (run.exists(RunDirectory.RUN_JSON)) {
                throw new UsageException("train: " + run.uri() + " already holds a run; continue it with --resume " + runDirUri + " or choose a new --run-dir");
            }
            rc = overrides.apply(RunConfig.load(preset, layer), threads, out);
            runJson = JSON.createObjectNode();
            runJson.put("run_id", UUID.randomUUID().toString().substring(0, 8));
            runJson.put("run_token", new SecureRandom().nextLong());
            ElasticRange range = elasticOption == null || elasticOption.equals("off") ? null : parseElastic(elasticOption);
            if (range != null && workers != null && !range.contains(workers)) {
                throw new UsageException("train: --workers " + workers + " is outside --elastic " + range + "; choose W in " + range + " or leave --workers out (then " + range.max() + ")");
            }
            runJson.put("workers", workers != null ? workers : range != null ? range.max() : 1);
            runJson.put("chunk_steps", chunkSteps != null ? chunkSteps : Math.max(1, Math.min(100, rc.steps() / 4)));
            runJson.set("run_config", rc.toJson());
        }
        boolean replannedOnResume = false;
        if (resume && (workers != null || overrides.batch != null)) {
            RunConfig replanned;
            try {
                replanned = ElasticPlan.apply(run, runJson, rc, workers != null ? workers : runJson.get("workers").asInt(), overrides.batch, out);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            replannedOnResume = replanned != rc;
            rc = replanned;
        }
        int workers = runJson.get("workers").asInt();
        if (workers < 1) throw new UsageException("train: --workers must be >= 1, got " + workers);
        boolean elasticChanged = elasticOption != null && resume;
        ElasticWorld.Settings elastic = elasticSettings(runJson, rc, resume);
        if (elasticWaitS < 0 || elasticGraceS < 0) {
            throw new UsageException("train: --elastic-wait-s and --elastic-grace-s must be >= 0, got " + elasticWaitS + " and " + elasticGraceS);
        }
        if (!failKind.equals("halt") && !failKind.equals("nonfinite")) {
            throw new UsageException("train: --fail-kind must be halt or nonfinite, got " + failKind);
        }
        if (keepCheckpoints < 0) {
            throw new UsageException("train: --keep-checkpoints must be >= 0 (0 keeps every checkpoint), got " + keepCheckpoints);
        }
        int slots = SparkSetup.localSlots(master);
        int threads = this.threads != null ? this.threads
                : slots > 0 ? Math.max(1, slots / workers) : Math.max(1, rc.threads());
        if (slots > 0 && slots < workers * threads && elastic == null) {
            throw new UsageException("train: " + workers + " workers x " + threads + " threads need " + workers * threads
                    + " task slots but --master " + master + " has " + slots + "; use --master local[" + workers * threads + "] or fewer workers/threads");
        }
        BackendChoice backend = rc.backendChoice(threads);
        int gpus = gpusPerWorker != null ? gpusPerWorker : backend.kind == BackendChoice.Kind.CUDA ? 1 : 0;
        if (gpus != 0 && gpus != 1) {
            throw new UsageException("train: --gpus-per-worker must be 0 or 1, got " + gpus
                    + ": each worker drives one GPU (one worker per GPU); use more --workers for more GPUs");
        }
        if (gpus > 0 && slots > 0) {
            out.println("note: a local master schedules no GPUs; worker r uses CUDA device r (--master local-cluster, standalone, YARN or Kubernetes assign them)");
        }
        // --elastic: the driver waits for enough slots itself before it submits a chunk, so a barrier job that
        // still meets too few (an executor lost in between) should fail within seconds and go through the
        // retry path with a re-planned world size, not wait minutes for the slot check's retries
        java.util.Map<String, String> sparkDefaults = elastic == null ? java.util.Map.of() : java.util.Map.of(
                "spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s",
                "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "3");
        SparkSession spark = SparkSetup.session("lowrank train " + runDirUri, master, threads, barrierTimeoutS, slots > 0 ? 0 : gpus, sparkDefaults);
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            out.println(SparkSetup.urls(spark.sparkContext()).map(SparkSetup.Urls::line)
                    .orElse("watch: the Spark UI is disabled (spark.ui.enabled=false): no UI, Prometheus or REST address"));
            Configuration conf = jsc.hadoopConfiguration();
            run = new RunDirectory(runDirUri, conf);
            run.create();
            PreparedDataset data;
            if (resume) {
                data = PreparedDataset.open(conf, runJson.path("data").asText());
                if (replannedOnResume || extended || elasticChanged) run.writeText(RunDirectory.RUN_JSON, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(runJson));
            } else {
                data = resolveData(spark, rc, run, conf, out);
                runJson.put("data", data.uri());
                run.writeText(RunDirectory.RUN_JSON, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(runJson));
            }
            if (!data.tokenizer().equals(rc.tokenizer())) {
                throw new IllegalArgumentException("dataset " + data.uri() + " was tokenized with " + data.tokenizer()
                        + " but train.tokenizer is " + rc.tokenizer() + "; prepare it with --tokenizer " + rc.tokenizer() + " or set train.tokenizer");
            }
            if (data.seqLen() != rc.seqLen()) {
                throw new IllegalArgumentException("dataset " + data.uri() + " is packed in sequences of seq_len " + data.seqLen()
                        + " but train.seq_len is " + rc.seqLen() + "; prepare it with --seq-len " + rc.seqLen() + " or set train.seq_len");
            }
            DistributedTraining.Plan plan = new DistributedTraining.Plan(runJson.get("run_id").asText(), runJson.get("run_token").asLong(),
                    rc, workers, threads, runJson.get("chunk_steps").asLong(), maxChunkRetries,
                    keepCheckpoints, 1000L * peerTimeoutS, data, failAtStep, failRank, failKind, elastic);
            if (elastic != null) {
                long global = ElasticPlan.globalBatch(workers, rc);
                out.printf("elastic %s: world sizes that keep the global batch of %d sequences: %s (micro-batch at most %d); "
                                + "waits up to %d s for executors, shrinks after %d s without the slots%n",
                        elastic.range(), global, elastic.range().feasible(global), elastic.maxMicroBatch(), elasticWaitS, elasticGraceS);
            }
            out.printf("run %s | %s | %d workers x %d threads | batch %d x seq %d x accum %d per worker | chunks of %d steps | data %s | Spark %s, app %s%n",
                    run.uri(), rc.model(data.vocabSize()), workers, threads, rc.batchSize(), rc.seqLen(), rc.gradAccum(),
                    plan.chunkSteps(), data.uri(), spark.version(), spark.sparkContext().applicationId());
            DistributedTraining.Result r = new DistributedTraining(jsc, run, plan, out).run();
            ObjectNode res = JSON.createObjectNode();
            res.put("workers", r.workers).put("steps", r.steps).put("initial_loss", r.initialLoss).put("final_loss", r.finalLoss)
                    .put("final_loss_steps", r.finalLossSteps).put("last_step_loss", r.lastStepLoss)
                    .put("val_loss", r.valLoss).put("tokens_per_s", r.tokensPerSecond).put("app_id", spark.sparkContext().applicationId())
                    .put("run_dir", run.uri()).put("chunks", r.chunks).put("chunk_retries", r.chunkRetries)
                    .put("skipped_steps", r.skippedSteps).put("elastic_changes", r.elasticChanges)
                    .put("allreduce_bytes", r.allReduceBytes)
                    .put("layer", rc.model(data.vocabSize()).layerType.id).put("backend", backend.kind.id());
            if (r.gpuAddresses != null) res.putPOJO("gpu_addresses", r.gpuAddresses);
            // one worker has no all-reduce, a dataset without held-out sequences no val_loss: left out, not NaN
            TrainLocalCommand.putIfFinite(res, "allreduce_hidden_fraction", r.allReduceHiddenFraction);
            TrainLocalCommand.putIfFinite(res, "allreduce_exposed_s_per_step", r.allReduceExposedSecondsPerStep);
            TrainLocalCommand.putIfFinite(res, "allreduce_standalone_s", r.allReduceStandaloneSeconds);
            if (!Double.isFinite(r.valLoss)) res.remove("val_loss");
            out.println(JSON.writeValueAsString(res));
            return 0;
        } finally {
            spark.stop();
        }
    }

    private static ElasticRange parseElastic(String value) {
        try {
            return ElasticRange.parse(value);
        } catch (IllegalArgumentException e) {
            throw new UsageException("train: " + e.getMessage());
        }
    }

    /**
     * --elastic of this application (or the run's, kept in run.json's "elastic" so that a later
     * --resume keeps it unless told otherwise; --elastic off removes it), or null. The largest
     * micro-batch a re-plan may choose is the run's when elastic training was turned on, or a
     * --batch given now: it is known to fit in memory.
     */
    private ElasticWorld.Settings elasticSettings(ObjectNode runJson, RunConfig rc, boolean resume) {
        ElasticRange range;
        int maxBatch = rc.batchSize();
        if (elasticOption != null) {
            if (elasticOption.equals("off")) {
                runJson.remove("elastic");
                return null;
            }
            range = parseElastic(elasticOption);
            if (resume && this.workers != null && !range.contains(this.workers)) {
                throw new UsageException("train: --workers " + this.workers + " is outside --elastic " + range + "; choose W in " + range);
            }
            JsonNode old = runJson.path("elastic");
            if (overrides.batch == null && old.has("max_micro_batch")) maxBatch = Math.max(maxBatch, old.get("max_micro_batch").asInt());
        } else if (runJson.has("elastic")) {
            JsonNode e = runJson.get("elastic");
            range = new ElasticRange(e.get("min").asInt(), e.get("max").asInt());
            maxBatch = overrides.batch != null ? rc.batchSize() : e.path("max_micro_batch").asInt(rc.batchSize());
        } else {
            return null;
        }
        ObjectNode e = runJson.putObject("elastic");
        e.put("min", range.min()).put("max", range.max()).put("max_micro_batch", maxBatch);
        return new ElasticWorld.Settings(range, maxBatch, 1000L * elasticWaitS, 1000L * elasticGraceS);
    }

    /** --resume of a run that has trained all its steps: says so, and prints its numbers from metrics.jsonl (no Spark needed). */
    private static int finished(RunDirectory run, ObjectNode runJson, long done, RunConfig rc, PrintStream out) throws Exception {
        RunSummary s = RunSummary.of(run.exists(RunDirectory.METRICS_JSONL) ? run.readText(RunDirectory.METRICS_JSONL) : "", rc.logEvery());
        out.println("run " + run.uri() + " is finished: it trained " + done + " of " + rc.steps() + " steps, nothing to do"
                + " (--resume " + run.uri() + " --steps N with N > " + done + " extends it)");
        ObjectNode res = JSON.createObjectNode();
        res.put("workers", runJson.get("workers").asInt()).put("steps", done).put("steps_run", 0).put("finished", true).put("run_dir", run.uri());
        TrainLocalCommand.putIfFinite(res, "initial_loss", s.initialLoss);
        TrainLocalCommand.putIfFinite(res, "final_loss", s.finalLoss);
        if (s.finalLossSteps > 0) res.put("final_loss_steps", s.finalLossSteps);
        TrainLocalCommand.putIfFinite(res, "last_step_loss", s.lastStepLoss);
        TrainLocalCommand.putIfFinite(res, "val_loss", s.valLoss);
        out.println(JSON.writeValueAsString(res));
        return 0;
    }

    /**
     * --data (a prepared dataset), or --corpus (default: the demo corpus) prepared into
     * {@code RUN_DIR/data/<config-hash>} by the prepare job in this application first.
     */
    private PreparedDataset resolveData(SparkSession spark, RunConfig rc, RunDirectory run, Configuration conf,
                                        PrintStream out) throws Exception {
        if (dataset != null) return PreparedDataset.open(conf, dataset);
        String corpus = this.corpus != null ? this.corpus : DEMO_CORPUS.toString();
        if (this.corpus == null && !Files.isRegularFile(DEMO_CORPUS)) {
            throw new UsageException("demo corpus " + DEMO_CORPUS + " not found: run bin/fetch-demo-corpus, or pass --corpus URI or --data DATASET_DIR");
        }
        PrepareOptions o = new PrepareOptions().inputs(corpus).output(run.path("data").toString()).tokenizer(rc.tokenizer())
                .seqLen(rc.seqLen()).seed(rc.seed()).valFraction(0.02).progress(out::println);
        o.validate();
        PrepareResult r = PrepareJob.run(spark, o);
        out.println((r.reused() ? "reusing " : "prepared ") + r.dataset() + ": " + r.trainSequences() + " train / "
                + r.valSequences() + " validation sequences of " + (rc.seqLen() + 1) + " tokens");
        return PreparedDataset.open(conf, r.dataset());
    }
}
