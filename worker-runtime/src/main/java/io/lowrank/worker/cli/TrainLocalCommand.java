package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.JsonFiles;
import io.lowrank.worker.data.CorpusTokenizer;
import io.lowrank.worker.data.ShardManifest;
import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.data.TokenFiles;
import io.lowrank.worker.data.Tokenizers;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Backends;
import io.lowrank.worker.train.RunConfig;
import io.lowrank.worker.train.RunSummary;
import io.lowrank.worker.train.Trainer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code train-local}: single-process training,
 * {@code train-local --preset tiny --layer cola --steps 200 --run-dir runs/demo}.
 * Data comes from a text/JSONL corpus (tokenized once into {@code <run-dir>/data}), from a
 * directory of token shards with a manifest, or from one token file (.tok/.npy; its last 5% of
 * windows become the held-out set).
 */
@Command(name = "train-local", description = "train in this process, without Spark (one worker)")
public final class TrainLocalCommand implements Callable<Integer> {
    /** The demo corpus that bin/fetch-demo-corpus writes under the installation directory. */
    static final Path DEMO_CORPUS = Path.of(System.getProperty("lowrank.home", ".")).resolve("data/demo/demo-corpus.txt");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--preset", paramLabel = "P", description = "model and training preset: tiny, 60m, 130m, 350m, 1b, 7b (conf/presets; required unless --resume)")
    String preset;

    @Option(names = "--layer", paramLabel = "L", description = "projection layers: full, cola, cola-m, crnet, elas (default: full)")
    String layer;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "where checkpoints and metrics go (default: runs/PRESET-LAYER)")
    String runDirOption;

    @Option(names = "--corpus", paramLabel = "FILE", description = "text or JSONL corpus, tokenized into RUN_DIR/data (default: the demo corpus of bin/fetch-demo-corpus)")
    String corpus;

    @Option(names = "--tokens", paramLabel = "PATH", description = "token shards with a manifest, or one .tok/.npy file (last 5%% held out) instead of --corpus (default: none)")
    String tokens;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "continue the run in RUN_DIR from its newest complete checkpoint (default: a new run)")
    String resume;

    @Option(names = "--threads", paramLabel = "T", description = "compute threads (default: the preset's train.threads, else all cores)")
    Integer threads;

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "with --backend cuda: the GPU's CUDA device ordinal (default: ${DEFAULT-VALUE})")
    int device;

    @Mixin
    TrainOverrides overrides = new TrainOverrides();

    /** Given the run directory, what to run after each checkpoint (the Spark module's report writer; this module has no charts). */
    private final java.util.function.Function<Path, Runnable> afterCheckpoint;

    public TrainLocalCommand() {
        this(runDir -> () -> { });
    }

    public TrainLocalCommand(java.util.function.Function<Path, Runnable> afterCheckpoint) {
        this.afterCheckpoint = afterCheckpoint;
    }

    @Override
    public Integer call() throws Exception {
        RunConfig rc;
        Path runDir;
        Optional<Path> resumeFrom = Optional.empty();
        if (resume != null) {
            runDir = Path.of(resume);
            resumeFrom = io.lowrank.worker.checkpoint.CheckpointManifest.latestVerified(runDir, System.err::println);
            if (resumeFrom.isEmpty()) throw new IllegalArgumentException("--resume " + runDir + ": no complete checkpoint (step-XXXXXXXX) in that run directory");
            JsonNode st = JsonFiles.readTree(resumeFrom.get().resolve(CheckpointDir.TRAINER_STATE_JSON));
            rc = overrides.applyOnResume(RunConfig.fromJson(st.get("run_config"), resumeFrom.get() + "/trainer_state.json"), threads, System.out);
            long done = st.get("step").asLong();
            if (done >= rc.steps()) return finished(runDir, done, rc);
        } else {
            if (preset == null) throw new UsageException("train-local: --preset is required (or --resume RUN_DIR)");
            runDir = Path.of(runDirOption != null ? runDirOption : "runs/" + preset + "-" + (layer == null ? "full" : layer));
            rc = overrides.apply(RunConfig.load(preset, layer), threads, System.out);
        }
        TextTokenizer tok = Tokenizers.byName(rc.tokenizer());
        ModelConfig mc = rc.model(tok.vocabSize());
        // the backend first: a missing GPU stops the command before any data is tokenized or written
        try (Backend be = Backends.open(rc.backendChoice(rc.threads()).onDevice(device))) {
            return train(rc, mc, tok, runDir, resumeFrom, be);
        }
    }

    private int train(RunConfig rc, ModelConfig mc, TextTokenizer tok, Path runDir, Optional<Path> resumeFrom, Backend be) throws Exception {
        Files.createDirectories(runDir);

        List<Path> trainFiles;
        int[] val;
        if (tokens != null) {
            Path t = Path.of(tokens);
            if (Files.isDirectory(t)) {
                ShardManifest man = ShardManifest.read(t);
                trainFiles = man.trainFiles(t);
                val = readAll(man.valFiles(t), mc.vocabSize);
            } else {
                int[] all = TokenFiles.read(t, mc.vocabSize);
                int windowLen = rc.seqLen() + 1;
                int valWindows = Math.max(1, all.length / windowLen / 20);
                int cut = all.length - valWindows * windowLen;
                if (cut < windowLen * rc.batchSize()) throw new IllegalArgumentException(t + ": " + all.length + " tokens are too few for batch " + rc.batchSize() + " x seq_len " + rc.seqLen());
                Path trainPart = runDir.resolve("data").resolve("train-from-" + t.getFileName() + ".npy");
                Files.createDirectories(trainPart.getParent());
                io.lowrank.worker.data.NpyTokens.writeInt32(trainPart, java.util.Arrays.copyOf(all, cut));
                trainFiles = List.of(trainPart);
                val = java.util.Arrays.copyOfRange(all, cut, all.length);
            }
        } else {
            Path corpus = Path.of(this.corpus != null ? this.corpus : DEMO_CORPUS.toString());
            if (!Files.isRegularFile(corpus)) {
                throw new IllegalArgumentException("corpus " + corpus + " not found: run bin/fetch-demo-corpus for the demo corpus, or pass --corpus FILE (text or JSONL) or --tokens PATH");
            }
            Path dataDir = runDir.resolve("data");
            ShardManifest man;
            if (Files.isRegularFile(dataDir.resolve(ShardManifest.FILE_NAME))) {
                man = ShardManifest.read(dataDir);
                if (!man.tokenizer().equals(tok.name())) {
                    throw new IllegalArgumentException(dataDir + " was tokenized with " + man.tokenizer() + " but the run uses " + tok.name() + ": use a new --run-dir");
                }
            } else {
                System.out.println("tokenizing " + corpus + " with " + tok.name() + " into " + dataDir);
                man = CorpusTokenizer.tokenizeToShards(List.of(corpus), tok, dataDir, 0.02, rc.seed());
            }
            trainFiles = man.trainFiles(dataDir);
            val = readAll(man.valFiles(dataDir), mc.vocabSize);
        }

        long steps = rc.steps();
        TokenCursor cursor = new TokenCursor(trainFiles);
        System.out.println("model " + mc + " | " + be.describe() + " | batch " + rc.batchSize() + " x seq " + rc.seqLen()
                + " x accum " + rc.gradAccum() + " | run dir " + runDir);
        try (Trainer t = new Trainer(be, rc, mc, cursor, val, runDir, System.out)) {
            System.out.printf("parameters: %,d%n", t.params().count());
            if (resumeFrom.isPresent()) t.resume(resumeFrom.get());
            t.afterCheckpoint(afterCheckpoint.apply(runDir));
            Trainer.Result r = t.run(steps);
            ObjectNode out = JSON.createObjectNode();
            out.put("workers", 1).put("steps", r.steps).put("initial_loss", r.initialLoss).put("final_loss", r.finalLoss)
                    .put("final_loss_steps", r.finalLossSteps).put("last_step_loss", r.lastStepLoss)
                    .put("val_loss", r.valLoss).put("tokens_per_s", r.tokensPerSecond).put("run_dir", runDir.toString())
                    .put("parameters", t.params().count()).put("layer", mc.layerType.id)
                    .put("backend", rc.backend() == null ? "cpu" : rc.backend());
            if (!Double.isFinite(r.valLoss)) out.remove("val_loss");   // no held-out tokens: left out, not NaN
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }

    /** --resume of a run that has trained all its steps: says so, and prints its numbers from metrics.jsonl. */
    private static int finished(Path runDir, long done, RunConfig rc) throws IOException {
        Path log = runDir.resolve("metrics.jsonl");
        RunSummary s = RunSummary.of(Files.isRegularFile(log) ? Files.readString(log) : "", rc.logEvery());
        System.out.println("run " + runDir + " is finished: it trained " + done + " of " + rc.steps() + " steps, nothing to do"
                + " (--resume " + runDir + " --steps N with N > " + done + " extends it)");
        ObjectNode out = JSON.createObjectNode();
        out.put("workers", 1).put("steps", done).put("steps_run", 0).put("finished", true).put("run_dir", runDir.toString());
        putIfFinite(out, "initial_loss", s.initialLoss);
        putIfFinite(out, "final_loss", s.finalLoss);
        if (s.finalLossSteps > 0) out.put("final_loss_steps", s.finalLossSteps);
        putIfFinite(out, "last_step_loss", s.lastStepLoss);
        putIfFinite(out, "val_loss", s.valLoss);
        System.out.println(JSON.writeValueAsString(out));
        return 0;
    }

    /** A number the log may lack is left out rather than printed as NaN. */
    public static void putIfFinite(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
    }

    public static int[] readAll(List<Path> files, int vocab) throws IOException {
        List<int[]> parts = new ArrayList<>();
        int n = 0;
        for (Path f : files) {
            int[] t = TokenFiles.read(f, vocab);
            parts.add(t);
            n += t.length;
        }
        int[] all = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, all, o, p.length);
            o += p.length;
        }
        return all;
    }
}
