package io.lowrank.spark.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.cli.SparkSetup;
import io.lowrank.spark.cli.SparkTrainCommand;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.prepare.PrepareJob;
import io.lowrank.spark.prepare.PrepareOptions;
import io.lowrank.spark.prepare.PrepareResult;
import io.lowrank.spark.report.RunMetrics;
import io.lowrank.worker.cli.TrainOverrides;
import io.lowrank.worker.cli.UsageException;
import io.lowrank.worker.data.Tokenizers;
import io.lowrank.worker.train.RunConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code compare}: trains several layer families on one prepared dataset with the same seed and
 * the same token budget, each as a {@code train} run in {@code RUN_DIR/<family>} whose chunks end
 * every {@code --eval-tokens} tokens, where the held-out loss is measured on the same validation
 * windows; then writes {@code RUN_DIR/report.html} (held-out loss against tokens and against
 * training FLOPs, a table of parameters, FLOPs/token, tokens/s, activation memory, final held-out
 * loss and perplexity). Rerunning the same command continues where it stopped: a finished family
 * is read, an unfinished one resumes from its newest checkpoint.
 */
@Command(name = "compare", description = "train layer families side by side on the same data, seed and token budget; report loss against tokens and FLOPs")
public final class CompareCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String COMPARE_JSON = "compare.json";

    @Option(names = "--layers", paramLabel = "L[,L...]", split = ",", defaultValue = "full,cola,cola-m,crnet,elas",
            description = "families to train, in this order (default: ${DEFAULT-VALUE})")
    List<String> layers;

    @Option(names = "--preset", paramLabel = "P", required = true, description = "model and training preset, e.g. study, study-s, tiny (required)")
    String preset;

    @Option(names = "--tokens", paramLabel = "N", required = true, description = "training tokens per family (required); steps = N / tokens per step")
    long tokens;

    @Option(names = "--eval-tokens", paramLabel = "N", description = "held-out evaluation (and chunk) interval in tokens (default: tokens/10)")
    Long evalTokens;

    @Option(names = "--match-flops-of", paramLabel = "L", description = "compute-matched view: each family gets the training FLOPs of L's --tokens budget (more tokens for cheaper families) (default: equal tokens)")
    String matchFlopsOf;

    @Option(names = "--corpus", paramLabel = "URI", description = "text/JSONL/Parquet corpus, prepared once into RUN_DIR/data (default: the demo corpus)")
    String corpus;

    @Option(names = "--data", paramLabel = "DATASET", description = "a dataset written by lowrank prepare, instead of --corpus (default: none)")
    String dataset;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*])")
    String master;

    @Option(names = "--workers", paramLabel = "W", defaultValue = "1", description = "data-parallel workers per family (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--threads", paramLabel = "T", description = "compute threads per worker (default: as train)")
    Integer threads;

    @Option(names = "--run-dir", paramLabel = "URI", description = "comparison directory: one run per family, the report (default: runs/compare-PRESET)")
    String runDirOption;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a preset field for every family it applies to (model.rank: the low-rank ones; model.only_lr_act: CoLA's), e.g. model.num_hidden_layers=2 (repeatable; default: none)")
    List<String> set = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        if (layers.isEmpty()) throw new UsageException("compare: --layers names no family");
        if (tokens <= 0) throw new UsageException("compare: --tokens must be > 0, got " + tokens);
        if (matchFlopsOf != null && !layers.contains(matchFlopsOf)) {
            throw new UsageException("compare: --match-flops-of " + matchFlopsOf + " is not one of --layers " + String.join(",", layers));
        }
        String dirUri = runDirOption != null ? runDirOption : "runs/compare-" + preset + (matchFlopsOf != null ? "-flops-of-" + matchFlopsOf : "");
        Configuration conf = new Configuration();
        RunDirectory dir = new RunDirectory(dirUri, conf);
        dir.create();

        // every family's configuration and cost first: a typo in --set fails before any training
        Map<String, RunConfig> configs = new LinkedHashMap<>();
        Map<String, FamilyCost> costs = new LinkedHashMap<>();
        for (String layer : layers) {
            RunConfig rc = TrainOverrides.applySets(RunConfig.load(preset, layer), setsFor(layer));
            configs.put(layer, rc);
            int vocab = Tokenizers.vocabSize(rc.tokenizer());
            costs.put(layer, FamilyCost.measure(rc.model(vocab), rc.batchSize(), rc.seqLen(), threads != null ? threads : 2));
        }
        ObjectNode state = state(dir);
        String data = state.path("data").asText(null);
        if (data == null) {
            data = prepare(configs.values().iterator().next(), dir, out);
            state.put("data", data);
            dir.writeText(COMPARE_JSON, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
        }

        List<CompareTable.Row> rows = new ArrayList<>();
        for (String layer : layers) {
            RunConfig rc = configs.get(layer);
            long perStep = (long) rc.batchSize() * rc.seqLen() * rc.gradAccum() * workers;
            long budget = matchFlopsOf == null ? tokens
                    : Math.round(tokens * costs.get(matchFlopsOf).flopsPerToken() / costs.get(layer).flopsPerToken());
            long steps = Math.max(1, (budget + perStep - 1) / perStep);
            long every = Math.max(1, Math.round((evalTokens != null ? evalTokens : Math.max(1, tokens / 10)) / (double) perStep));
            String familyDir = dir.path(layer).toString();
            RunDirectory run = new RunDirectory(familyDir, conf);
            Optional<String> latest = run.latestCheckpoint();
            long done = latest.isPresent() ? stepOf(latest.get()) : 0;
            if (done >= steps) {
                out.println("compare: " + layer + " finished before (" + done + " steps); reading its log");
            } else {
                List<String> argv = new ArrayList<>();
                if (run.exists(RunDirectory.RUN_JSON)) {
                    out.println("compare: " + layer + ": resuming at step " + done + " of " + steps);
                    argv.addAll(List.of("--resume", familyDir));
                } else {
                    out.printf("compare: %s: %d steps x %d tokens = %,d tokens, held-out loss every %d steps%n", layer, steps, perStep, steps * perStep, every);
                    argv.addAll(List.of("--preset", preset, "--layer", layer, "--data", data, "--steps", Long.toString(steps),
                            "--chunk-steps", Long.toString(every), "--workers", Integer.toString(workers), "--keep-checkpoints", "1",
                            "--run-dir", familyDir));
                    for (String s : setsFor(layer)) argv.addAll(List.of("--set", s));
                    // the preset's warmup fractions, kept at the new length (as the papers keep theirs)
                    argv.addAll(List.of("--set", "train.warmup_steps=" + scaled(rc.warmupSteps(), rc.steps(), steps)));
                    if (layer.equals("elas")) argv.addAll(List.of("--set", "train.dense_warmup_steps=" + scaled(rc.denseWarmupSteps(), rc.steps(), steps)));
                }
                if (master != null) argv.addAll(List.of("--master", master));
                if (threads != null) argv.addAll(List.of("--threads", Integer.toString(threads)));
                int rc0 = SparkTrainCommand.run(argv.toArray(new String[0]));
                if (rc0 != 0) throw new IllegalStateException("compare: training " + layer + " failed (exit code " + rc0 + "); rerun the same command to continue");
            }
            rows.add(new CompareTable.Row(layer, RunMetrics.read(familyDir, conf), costs.get(layer)));
        }
        CompareTable table = new CompareTable(rows);
        new CompareReport(table, preset, matchFlopsOf).writeTo(dir);
        out.print(table.text());
        ObjectNode res = table.json();
        res.put("report", dir.uri() + "/report.html").put("preset", preset).put("tokens", tokens).put("data", data);
        if (matchFlopsOf != null) res.put("match_flops_of", matchFlopsOf);
        out.println(JSON.writeValueAsString(res));
        return 0;
    }

    /** The --set overrides that apply to a family: model.rank only to low-rank ones, model.only_lr_act only to CoLA's. */
    List<String> setsFor(String layer) {
        List<String> out = new ArrayList<>();
        for (String s : set) {
            String key = s.contains("=") ? s.substring(0, s.indexOf('=')).trim() : s;
            if (key.equals("model.rank") && layer.equals("full")) continue;
            if (key.equals("model.only_lr_act") && !layer.startsWith("cola")) continue;
            out.add(s);
        }
        return out;
    }

    static long scaled(long part, long of, long steps) {
        return of <= 0 ? 0 : Math.min(steps - 1, Math.round((double) part * steps / of));
    }

    /** compare.json: the dataset once prepared, and the settings it was prepared for (a rerun must match them). */
    private ObjectNode state(RunDirectory dir) throws Exception {
        ObjectNode want = JSON.createObjectNode();
        want.put("preset", preset).put("workers", workers).put("corpus", corpus).put("given_data", dataset);
        want.putPOJO("set", set);
        if (!dir.exists(COMPARE_JSON)) return want;
        ObjectNode have = (ObjectNode) JSON.readTree(dir.readText(COMPARE_JSON));
        for (String k : List.of("preset", "workers", "corpus", "given_data", "set")) {
            JsonNode a = have.get(k), b = want.get(k);
            if (!String.valueOf(a).equals(String.valueOf(b))) {
                throw new UsageException("compare: " + dir.uri() + " holds a comparison with " + k + " " + a + ", not " + b
                        + "; rerun it with the same options to continue it, or choose a new --run-dir");
            }
        }
        return have;
    }

    private String prepare(RunConfig rc, RunDirectory dir, PrintStream out) throws Exception {
        if (dataset != null) return dataset;
        Path demo = Path.of(System.getProperty("lowrank.home", ".")).resolve("data/demo/demo-corpus.txt");
        String input = corpus != null ? corpus : demo.toString();
        if (corpus == null && !Files.isRegularFile(demo)) {
            throw new UsageException("compare: demo corpus " + demo + " not found: run bin/fetch-demo-corpus, or pass --corpus URI or --data DATASET");
        }
        SparkSession spark = SparkSetup.session("lowrank compare: prepare " + input, master, 1, 900);
        try {
            PrepareOptions o = new PrepareOptions().inputs(input).output(dir.path("data").toString()).tokenizer(rc.tokenizer())
                    .seqLen(rc.seqLen()).seed(rc.seed()).valFraction(0.02).progress(out::println);
            o.validate();
            PrepareResult r = PrepareJob.run(spark, o);
            out.println("compare: " + (r.reused() ? "reusing " : "prepared ") + r.dataset() + ": " + r.trainSequences() + " train / "
                    + r.valSequences() + " validation sequences");
            return r.dataset();
        } finally {
            spark.stop();
        }
    }

    private static long stepOf(String checkpointUri) {
        return io.lowrank.worker.checkpoint.CheckpointDir.parseStep(new org.apache.hadoop.fs.Path(checkpointUri).getName()).orElse(0);
    }
}
