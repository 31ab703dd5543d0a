package io.lowrank.spark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.prepare.PrepareJob;
import io.lowrank.spark.prepare.PrepareOptions;
import io.lowrank.spark.prepare.PrepareResult;
import io.lowrank.spark.prepare.PreparedDataset;
import io.lowrank.spark.train.DistributedTraining;
import io.lowrank.worker.cli.Args;
import io.lowrank.worker.cli.TrainCommand;
import io.lowrank.worker.train.RunConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * {@code train}: distributed data-parallel training on Spark.
 * <pre>
 *   lowrank train --preset tiny --layer cola --master local[2] --workers 2 --steps 200 --run-dir runs/demo
 *   lowrank train --resume runs/demo            # continue a run in a new application
 * </pre>
 * The run's settings are stored in {@code run.json} in the run directory, so that {@code --resume}
 * needs nothing else. Last stdout line: one JSON object with the run's numbers.
 */
public final class SparkTrainCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> OPTIONS = Set.of("preset", "layer", "master", "workers", "steps", "run-dir", "corpus",
            "data", "chunk-steps", "max-chunk-retries", "keep-checkpoints", "threads", "set", "batch", "seq-len", "lr", "resume",
            "peer-timeout-s", "barrier-timeout-s", "fail-at-step", "fail-rank");
    /** The demo corpus that bin/fetch-demo-corpus writes under the installation directory. */
    static final Path DEMO_CORPUS = Path.of(System.getProperty("lowrank.home", ".")).resolve("data/demo/demo-corpus.txt");

    private SparkTrainCommand() {}

    public static int run(String[] argv) throws Exception {
        Args a = new Args("train", argv, 1, OPTIONS, Set.of());
        PrintStream out = System.out;
        String master = a.get("master");
        boolean resume = a.get("resume") != null;
        String runDirUri = resume ? a.get("resume") : a.get("run-dir") != null ? a.get("run-dir")
                : "runs/" + a.required("preset") + "-" + (a.get("layer") == null ? "full" : a.get("layer"));

        Configuration bootstrap = new Configuration();
        RunDirectory run = new RunDirectory(runDirUri, bootstrap);
        ObjectNode runJson;
        RunConfig rc;
        if (resume) {
            if (!run.exists(RunDirectory.RUN_JSON)) {
                throw new Args.UsageException("train --resume " + runDirUri + ": no " + RunDirectory.RUN_JSON + " there; is this a run directory of `lowrank train`?");
            }
            runJson = (ObjectNode) JSON.readTree(run.readText(RunDirectory.RUN_JSON));
            rc = RunConfig.fromJson(runJson.get("run_config"), run.uri() + "/" + RunDirectory.RUN_JSON);
            for (String o : List.of("preset", "layer", "workers", "data", "corpus", "set", "batch", "seq-len", "lr", "steps", "chunk-steps")) {
                if (a.get(o) != null) throw new Args.UsageException("train --resume: --" + o + " cannot change on resume (it is fixed in " + RunDirectory.RUN_JSON + ")");
            }
        } else {
            if (run.exists(RunDirectory.RUN_JSON)) {
                throw new Args.UsageException("train: " + run.uri() + " already holds a run; continue it with --resume " + runDirUri + " or choose a new --run-dir");
            }
            rc = TrainCommand.applyOverrides(RunConfig.load(a.required("preset"), a.get("layer")), a);
            runJson = JSON.createObjectNode();
            runJson.put("run_id", UUID.randomUUID().toString().substring(0, 8));
            runJson.put("run_token", new SecureRandom().nextLong());
            runJson.put("workers", a.intValue("workers", 1));
            runJson.put("chunk_steps", Long.parseLong(a.get("chunk-steps") != null ? a.get("chunk-steps") : Long.toString(Math.max(1, Math.min(100, rc.steps() / 4)))));
            runJson.set("run_config", rc.toJson());
        }
        int workers = runJson.get("workers").asInt();
        if (workers < 1) throw new Args.UsageException("train: --workers must be >= 1, got " + workers);
        if (a.intValue("keep-checkpoints", 3) < 0) {
            throw new Args.UsageException("train: --keep-checkpoints must be >= 0 (0 keeps every checkpoint), got " + a.get("keep-checkpoints"));
        }
        int slots = SparkSetup.localSlots(master);
        int threads = a.get("threads") != null ? a.intValue("threads", 1)
                : slots > 0 ? Math.max(1, slots / workers) : Math.max(1, rc.threads());
        if (slots > 0 && slots < workers * threads) {
            throw new Args.UsageException("train: " + workers + " workers x " + threads + " threads need " + workers * threads
                    + " task slots but --master " + master + " has " + slots + "; use --master local[" + workers * threads + "] or fewer workers/threads");
        }
        long barrierTimeoutS = a.intValue("barrier-timeout-s", 900);
        SparkSession spark = SparkSetup.session("lowrank train " + runDirUri, master, threads, barrierTimeoutS);
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Configuration conf = jsc.hadoopConfiguration();
            run = new RunDirectory(runDirUri, conf);
            run.create();
            PreparedDataset data;
            if (resume) {
                data = PreparedDataset.open(conf, runJson.path("data").asText());
            } else {
                data = resolveData(spark, a, rc, run, conf, out);
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
                    rc, workers, threads, runJson.get("chunk_steps").asLong(), a.intValue("max-chunk-retries", 3),
                    a.intValue("keep-checkpoints", 3), 1000L * a.intValue("peer-timeout-s", 60), data, Long.parseLong(a.get("fail-at-step") == null ? "-1" : a.get("fail-at-step")),
                    a.intValue("fail-rank", 0));
            out.printf("run %s | %s | %d workers x %d threads | batch %d x seq %d x accum %d per worker | chunks of %d steps | data %s | Spark %s, app %s%n",
                    run.uri(), rc.model(data.vocabSize()), workers, threads, rc.batchSize(), rc.seqLen(), rc.gradAccum(),
                    plan.chunkSteps(), data.uri(), spark.version(), spark.sparkContext().applicationId());
            DistributedTraining.Result r = new DistributedTraining(jsc, run, plan, out).run();
            ObjectNode res = JSON.createObjectNode();
            res.put("workers", workers).put("steps", r.steps).put("initial_loss", r.initialLoss).put("final_loss", r.finalLoss)
                    .put("val_loss", r.valLoss).put("tokens_per_s", r.tokensPerSecond).put("app_id", spark.sparkContext().applicationId())
                    .put("run_dir", run.uri()).put("chunks", r.chunks).put("chunk_retries", r.chunkRetries)
                    .put("allreduce_bytes", r.allReduceBytes).put("allreduce_hidden_fraction", r.allReduceHiddenFraction)
                    .put("allreduce_exposed_s_per_step", r.allReduceExposedSecondsPerStep)
                    .put("allreduce_standalone_s", r.allReduceStandaloneSeconds)
                    .put("layer", rc.model(data.vocabSize()).layerType.id);
            out.println(JSON.writeValueAsString(res));
            return 0;
        } finally {
            spark.stop();
        }
    }

    /**
     * --data (a prepared dataset), or --corpus (default: the demo corpus) prepared into
     * {@code RUN_DIR/data/<config-hash>} by the prepare job in this application first.
     */
    private static PreparedDataset resolveData(SparkSession spark, Args a, RunConfig rc, RunDirectory run, Configuration conf,
                                               PrintStream out) throws Exception {
        if (a.get("data") != null) return PreparedDataset.open(conf, a.get("data"));
        String corpus = a.get("corpus") != null ? a.get("corpus") : DEMO_CORPUS.toString();
        if (a.get("corpus") == null && !Files.isRegularFile(DEMO_CORPUS)) {
            throw new Args.UsageException("demo corpus " + DEMO_CORPUS + " not found: run bin/fetch-demo-corpus, or pass --corpus URI or --data DATASET_DIR");
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
