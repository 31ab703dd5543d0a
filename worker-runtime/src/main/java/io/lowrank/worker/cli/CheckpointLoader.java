package io.lowrank.worker.cli;

import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.checkpoint.TokenizerInfo;
import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.data.Tokenizers;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What every command that reads a checkpoint does first (eval, grad, generate, export): resolve
 * {@code --model} (a checkpoint, or a run directory: its newest complete checkpoint, said on
 * stderr), read config.json and the weights, and find the tokenizer (the checkpoint's own, or
 * {@code --tokenizer} for checkpoints that record none).
 */
final class CheckpointLoader {
    final Path dir;
    final ModelConfig config;
    final Optional<TokenizerInfo> recordedTokenizer;

    private CheckpointLoader(Path dir, ModelConfig config, Optional<TokenizerInfo> tokenizer) {
        this.dir = dir;
        this.config = config;
        this.recordedTokenizer = tokenizer;
    }

    /** Resolves and reads config.json and the tokenizer record; says on {@code log} which checkpoint a run directory gave. */
    static CheckpointLoader open(Path model, PrintStream log) throws IOException {
        Path dir = CheckpointDir.resolveModel(model);
        if (!dir.equals(model)) log.println("model: " + dir + " (the newest complete checkpoint of run directory " + model + ")");
        return new CheckpointLoader(dir, ModelCheckpoint.readConfig(dir), ModelCheckpoint.readTokenizer(dir));
    }

    /** The parameters, loaded into a new store of the backend (with gradient buffers for grad). */
    ParameterStore loadWeights(Backend be) throws IOException {
        return loadWeights(be, true);
    }

    ParameterStore loadWeights(Backend be, boolean withGradients) throws IOException {
        ParameterStore ps = new ParameterStore(be, ModelLayout.of(config), withGradients);
        ModelCheckpoint.loadWeights(dir, ps);
        return ps;
    }

    /**
     * The tokenizer: the checkpoint's, or {@code override} when it records none. An override that
     * contradicts the checkpoint's record is an error, and so is neither.
     */
    TokenizerInfo tokenizerInfo(String override) {
        if (recordedTokenizer.isPresent()) {
            TokenizerInfo t = recordedTokenizer.get();
            if (override != null && !override.equals(t.name())) {
                throw new IllegalArgumentException("--tokenizer " + override + " contradicts the checkpoint's tokenizer " + t.name() + " (" + dir + "): leave it out");
            }
            return t;
        }
        if (override == null) {
            throw new IllegalArgumentException(dir + " records no tokenizer (written by other tooling or an older version): pass --tokenizer "
                    + String.join("|", Tokenizers.NAMES) + ", or token ids with --prompt-tokens / --tokens");
        }
        return new TokenizerInfo(override, Tokenizers.endOfTextId(override));
    }

    /** The tokenizer itself (loads its tables), checked against the model's vocabulary. */
    TextTokenizer tokenizer(String override) {
        TokenizerInfo info = tokenizerInfo(override);
        TextTokenizer t = Tokenizers.byName(info.name());
        if (t.vocabSize() > config.vocabSize) {
            throw new IllegalArgumentException("tokenizer " + t.name() + " has " + t.vocabSize() + " ids but the model's vocab_size is "
                    + config.vocabSize + " (" + dir + ")");
        }
        return t;
    }
}
