package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.optim.AdamW;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checkpoint contract of DESIGN.md: {@code config.json} (Hugging Face keys) +
 * {@code model.safetensors} (Hugging Face / CoLA-reference names) + {@code optimizer.safetensors}
 * (AdamW moments as {@code exp_avg.<name>} / {@code exp_avg_sq.<name>}) + {@code trainer_state.json}.
 * A directory written by another implementation loads as long as names and shapes match.
 */
public final class ModelCheckpoint {
    private ModelCheckpoint() {}

    public static ModelConfig readConfig(Path dir) throws IOException {
        Path f = dir.resolve(CheckpointDir.CONFIG_JSON);
        if (!Files.isRegularFile(f)) {
            throw new IOException("no " + CheckpointDir.CONFIG_JSON + " in checkpoint directory " + dir);
        }
        return ModelConfig.fromConfigJson(JsonFiles.readTree(f), f.toString());
    }

    /** Writes config + weights (+ optimizer and trainer state when given) atomically into dir. */
    public static void save(Path dir, ModelConfig config, ParameterStore params, AdamW optimizer, JsonNode trainerState)
            throws IOException {
        save(dir, config, null, params, optimizer, trainerState);
    }

    /**
     * Writes config + weights (+ optimizer and trainer state when given) atomically into dir;
     * tokenizer (may be null) goes into config.json as {@code lowrank_tokenizer} and the Hugging
     * Face {@code bos_token_id}/{@code eos_token_id} (both the end-of-text id: the GPT-2 convention).
     */
    public static void save(Path dir, ModelConfig config, TokenizerInfo tokenizer, ParameterStore params, AdamW optimizer,
                            JsonNode trainerState) throws IOException {
        CheckpointDir.writeAtomically(dir, tmp -> {
            JsonFiles.writePretty(tmp.resolve(CheckpointDir.CONFIG_JSON), configJson(config, tokenizer));
            Backend be = params.backend();
            LinkedHashMap<String, HostTensor> weights = new LinkedHashMap<>();
            for (ParameterStore.Param p : params.params()) weights.put(p.name, toHost(be, p.value));
            Safetensors.write(tmp.resolve(CheckpointDir.MODEL_SAFETENSORS), weights, Map.of("format", "pt"));
            if (optimizer != null) {
                LinkedHashMap<String, HostTensor> state = new LinkedHashMap<>();
                for (ParameterStore.Param p : params.params()) {
                    state.put("exp_avg." + p.name, toHost(be, optimizer.firstMoment().view(p.offset, p.value.shape())));
                }
                for (ParameterStore.Param p : params.params()) {
                    state.put("exp_avg_sq." + p.name, toHost(be, optimizer.secondMoment().view(p.offset, p.value.shape())));
                }
                Safetensors.write(tmp.resolve(CheckpointDir.OPTIMIZER_SAFETENSORS), state,
                        Map.of("step", Long.toString(optimizer.stepCount()), "beta1", Double.toString(optimizer.beta1),
                                "beta2", Double.toString(optimizer.beta2), "eps", Double.toString(optimizer.eps),
                                "weight_decay", Double.toString(optimizer.weightDecay)));
            }
            if (trainerState != null) {
                JsonFiles.writePretty(tmp.resolve(CheckpointDir.TRAINER_STATE_JSON), trainerState);
            }
            CheckpointManifest.write(tmp);   // last, before the rename: the checksums of exactly what is published
        });
    }

    /** config.json of a checkpoint: the model's keys plus the tokenizer's when known. */
    public static com.fasterxml.jackson.databind.node.ObjectNode configJson(ModelConfig config, TokenizerInfo tokenizer) {
        com.fasterxml.jackson.databind.node.ObjectNode n = config.toConfigJson();
        if (tokenizer != null) {
            n.put(TOKENIZER_KEY, tokenizer.name());
            n.put("bos_token_id", tokenizer.endOfTextId());
            n.put("eos_token_id", tokenizer.endOfTextId());
        }
        return n;
    }

    /** config.json key naming the tokenizer (a name {@code Tokenizers.byName} accepts). */
    public static final String TOKENIZER_KEY = "lowrank_tokenizer";

    /**
     * The tokenizer a checkpoint records: config.json's {@code lowrank_tokenizer} (with
     * {@code eos_token_id}), else the {@code train.tokenizer} of the run configuration in
     * trainer_state.json (checkpoints written before config.json carried it), else empty (a
     * checkpoint written by other tooling: the caller must ask for {@code --tokenizer}).
     */
    public static java.util.Optional<TokenizerInfo> readTokenizer(Path dir) throws IOException {
        Path f = dir.resolve(CheckpointDir.CONFIG_JSON);
        if (!Files.isRegularFile(f)) throw new IOException("no " + CheckpointDir.CONFIG_JSON + " in checkpoint directory " + dir);
        JsonNode config = JsonFiles.readTree(f);
        if (config.hasNonNull(TOKENIZER_KEY)) {
            String name = config.get(TOKENIZER_KEY).asText();
            int eot = config.has("eos_token_id") ? config.get("eos_token_id").asInt() : io.lowrank.worker.data.Tokenizers.endOfTextId(name);
            return java.util.Optional.of(new TokenizerInfo(name, eot));
        }
        Path state = dir.resolve(CheckpointDir.TRAINER_STATE_JSON);
        if (Files.isRegularFile(state)) {
            JsonNode t = JsonFiles.readTree(state).path("run_config").path("train");
            // runs without train.tokenizer used the default, as RunConfig.tokenizer() says
            String name = t.isMissingNode() ? null : t.path("tokenizer").asText(io.lowrank.worker.train.RunConfig.DEFAULT_TOKENIZER);
            if (name != null) return java.util.Optional.of(new TokenizerInfo(name, io.lowrank.worker.data.Tokenizers.endOfTextId(name)));
        }
        return java.util.Optional.empty();
    }

    /**
     * Whether ELAS's MLP runs with 2:4 activation sparsity at this checkpoint: as the trainer's
     * forward did at its step (dense for the first {@code train.dense_warmup_steps} steps). A
     * checkpoint without trainer_state.json is taken as trained past the warm-up.
     */
    public static boolean elasSparse(Path dir) throws IOException {
        Path state = dir.resolve(CheckpointDir.TRAINER_STATE_JSON);
        if (!Files.isRegularFile(state)) return true;
        JsonNode st = JsonFiles.readTree(state);
        if (!st.has("step") || !st.path("run_config").isObject()) return true;
        long warmup = st.get("run_config").path("train").path("dense_warmup_steps").asLong(io.lowrank.worker.train.RunConfig.DEFAULT_DENSE_WARMUP_STEPS);
        // the weights of step s were trained by steps 0..s-1; the trainer's next forward (step s) is sparse iff s >= warmup
        return st.get("step").asLong() >= warmup;
    }

    /**
     * Loads model.safetensors into params. Every parameter of the layout must be present with its
     * exact shape; extra tensors are an error too (they mean the config and weights disagree).
     */
    public static void loadWeights(Path dir, ParameterStore params) throws IOException {
        Path f = dir.resolve(CheckpointDir.MODEL_SAFETENSORS);
        if (!Files.isRegularFile(f)) throw new IOException("no " + CheckpointDir.MODEL_SAFETENSORS + " in checkpoint directory " + dir);
        try (Safetensors.Reader r = Safetensors.open(f)) {
            List<String> missing = new ArrayList<>();
            for (ParameterStore.Param p : params.params()) if (!r.contains(p.name)) missing.add(p.name);
            List<String> unexpected = new ArrayList<>();
            for (String n : r.names()) if (!params.has(n)) unexpected.add(n);
            if (!missing.isEmpty() || !unexpected.isEmpty()) {
                throw new CheckpointFormatException(f, "tensors do not match config.json: missing " + abbreviate(missing)
                        + ", unexpected " + abbreviate(unexpected));
            }
            for (ParameterStore.Param p : params.params()) readInto(params.backend(), r, p.name, p.name, p.value);
        }
    }

    /** Restores AdamW moments and step count from optimizer.safetensors. */
    public static void loadOptimizer(Path dir, ParameterStore params, AdamW optimizer) throws IOException {
        Path f = dir.resolve(CheckpointDir.OPTIMIZER_SAFETENSORS);
        if (!Files.isRegularFile(f)) throw new IOException("no " + CheckpointDir.OPTIMIZER_SAFETENSORS + " in " + dir + ": cannot resume the optimizer");
        try (Safetensors.Reader r = Safetensors.open(f)) {
            for (ParameterStore.Param p : params.params()) {
                readInto(params.backend(), r, "exp_avg." + p.name, p.name, optimizer.firstMoment().view(p.offset, p.value.shape()));
                readInto(params.backend(), r, "exp_avg_sq." + p.name, p.name, optimizer.secondMoment().view(p.offset, p.value.shape()));
            }
            String step = r.metadata().get("step");
            if (step == null) throw new CheckpointFormatException(f, "metadata has no 'step'");
            optimizer.restore(Long.parseLong(step));
        }
    }

    private static void readInto(Backend be, Safetensors.Reader r, String tensorName, String paramName, Tensor dst) throws IOException {
        if (!r.contains(tensorName)) throw new CheckpointFormatException(r.file(), "missing tensor '" + tensorName + "'");
        long[] shape = r.info(tensorName).shape();
        int[] expected = dst.shape();
        if (!sameShape(shape, expected)) {
            throw new CheckpointFormatException(r.file(), "tensor '" + tensorName + "' has shape " + Arrays.toString(shape)
                    + " but parameter '" + paramName + "' needs " + Arrays.toString(expected));
        }
        HostTensor h = r.read(tensorName);
        if (h.dtype().equals("F64")) be.copyFromHost(h.toDoubleArray(), dst); else be.copyFromHost(h.toFloatArray(), dst);
    }

    static boolean sameShape(long[] a, int[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
        return true;
    }

    /** Copies a tensor (through its backend: it may live on a GPU) to the heap in its own dtype, for writing. */
    public static HostTensor toHost(Backend be, Tensor t) {
        int[] s = t.shape();
        long[] shape = new long[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = s[i];
        switch (t.dtype) {
            case F32: return HostTensor.f32(shape, be.toHostFloats(t));
            case F64: return HostTensor.f64(shape, be.toHostDoubles(t));
            default: throw new IllegalStateException("unsupported dtype " + t.dtype);
        }
    }

    private static String abbreviate(List<String> names) {
        if (names.isEmpty()) return "none";
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " and " + (names.size() - 5) + " more";
    }
}
