package io.lowrank.worker.cli;

import io.lowrank.worker.data.TokenFiles;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Backends;
import io.lowrank.worker.train.WindowedLoss;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options of {@code eval} and {@code grad}: a checkpoint, a token or text file and how to window it. */
public final class ModelData {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "checkpoint directory, or a run directory: its newest complete step-N/ checkpoint (required)")
    Path model;

    @Option(names = "--tokens", paramLabel = "FILE", description = "token file (.tok or .npy) to evaluate on (this or --text required)")
    Path tokens;

    @Option(names = "--text", paramLabel = "FILE",
            description = "text or JSONL file to evaluate on, tokenized with the checkpoint's tokenizer like a training corpus (this or --tokens required)")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "NAME",
            description = "with --text: gpt2, gpt2-32k or cl100k, only for checkpoints that record no tokenizer (default: the checkpoint's)")
    String tokenizer;

    @Option(names = "--seq-len", required = true, paramLabel = "N", description = "window length in tokens, at most max_position_embeddings (required)")
    int seqLen;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "windows per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "float32", description = "float32 or float64 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--threads", paramLabel = "T", description = "compute threads (default: all cores)")
    Integer threads;

    @Mixin
    BackendOptions backendOptions = new BackendOptions();

    /** The backend of --backend/--precision/--device with --dtype and --threads. */
    Backend backend() {
        return Backends.open(backendOptions.choice(dtype, threads != null ? threads : Runtime.getRuntime().availableProcessors()));
    }

    static final class Loaded {
        ModelConfig config;
        ParameterStore params;
        int[] tokens;
        int seqLen, batch;
        boolean elasSparse;

        WindowedLoss pass(Backend be, boolean withGrad) {
            return WindowedLoss.compute(be, config, params, tokens, seqLen, batch, withGrad, elasSparse);
        }
    }

    Loaded load(Backend be) throws Exception {
        Loaded m = new Loaded();
        if ((tokens == null) == (text == null)) {
            throw new UsageException("give exactly one of --tokens FILE (token ids) and --text FILE (text, tokenized with the checkpoint's tokenizer)");
        }
        CheckpointLoader ck = CheckpointLoader.open(model, System.err);
        Path model = ck.dir;
        m.config = ck.config;
        m.params = ck.loadWeights(be);
        Path tokens = this.tokens != null ? this.tokens : text;
        m.tokens = this.tokens != null ? TokenFiles.read(tokens, m.config.vocabSize) : TextTokens.read(text, ck.tokenizer(tokenizer));
        m.seqLen = seqLen;
        if (m.seqLen <= 0) throw new IllegalArgumentException("--seq-len must be a positive integer");
        if (m.seqLen > m.config.maxPositionEmbeddings) {
            throw new IllegalArgumentException("--seq-len " + m.seqLen + " exceeds max_position_embeddings " + m.config.maxPositionEmbeddings + " of " + model);
        }
        if (WindowedLoss.windows(m.tokens.length, m.seqLen) == 0) {
            throw new IllegalArgumentException(tokens + " holds " + m.tokens.length + " tokens: fewer than one window of seq_len+1 = " + (m.seqLen + 1));
        }
        m.batch = batch;   // WindowedLoss caps it at the number of windows
        // ELAS: 2:4 activations as the trainer's forward at this checkpoint's step (dense during its warm-up)
        m.elasSparse = m.config.layerType == io.lowrank.worker.model.LayerType.ELAS && io.lowrank.worker.checkpoint.ModelCheckpoint.elasSparse(model);
        return m;
    }
}
