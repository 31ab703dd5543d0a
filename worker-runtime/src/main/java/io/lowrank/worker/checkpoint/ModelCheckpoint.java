package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.optim.AdamW;
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
        CheckpointDir.writeAtomically(dir, tmp -> {
            JsonFiles.writePretty(tmp.resolve(CheckpointDir.CONFIG_JSON), config.toConfigJson());
            LinkedHashMap<String, HostTensor> weights = new LinkedHashMap<>();
            for (ParameterStore.Param p : params.params()) weights.put(p.name, toHost(p.value));
            Safetensors.write(tmp.resolve(CheckpointDir.MODEL_SAFETENSORS), weights, Map.of("format", "pt"));
            if (optimizer != null) {
                LinkedHashMap<String, HostTensor> state = new LinkedHashMap<>();
                for (ParameterStore.Param p : params.params()) {
                    state.put("exp_avg." + p.name, toHost(optimizer.firstMoment().view(p.offset, p.value.shape())));
                }
                for (ParameterStore.Param p : params.params()) {
                    state.put("exp_avg_sq." + p.name, toHost(optimizer.secondMoment().view(p.offset, p.value.shape())));
                }
                Safetensors.write(tmp.resolve(CheckpointDir.OPTIMIZER_SAFETENSORS), state,
                        Map.of("step", Long.toString(optimizer.stepCount()), "beta1", Double.toString(optimizer.beta1),
                                "beta2", Double.toString(optimizer.beta2), "eps", Double.toString(optimizer.eps),
                                "weight_decay", Double.toString(optimizer.weightDecay)));
            }
            if (trainerState != null) {
                JsonFiles.writePretty(tmp.resolve(CheckpointDir.TRAINER_STATE_JSON), trainerState);
            }
        });
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
            for (ParameterStore.Param p : params.params()) readInto(r, p.name, p.name, p.value);
        }
    }

    /** Restores AdamW moments and step count from optimizer.safetensors. */
    public static void loadOptimizer(Path dir, ParameterStore params, AdamW optimizer) throws IOException {
        Path f = dir.resolve(CheckpointDir.OPTIMIZER_SAFETENSORS);
        if (!Files.isRegularFile(f)) throw new IOException("no " + CheckpointDir.OPTIMIZER_SAFETENSORS + " in " + dir + ": cannot resume the optimizer");
        try (Safetensors.Reader r = Safetensors.open(f)) {
            for (ParameterStore.Param p : params.params()) {
                readInto(r, "exp_avg." + p.name, p.name, optimizer.firstMoment().view(p.offset, p.value.shape()));
                readInto(r, "exp_avg_sq." + p.name, p.name, optimizer.secondMoment().view(p.offset, p.value.shape()));
            }
            String step = r.metadata().get("step");
            if (step == null) throw new CheckpointFormatException(f, "metadata has no 'step'");
            optimizer.restore(Long.parseLong(step));
        }
    }

    private static void readInto(Safetensors.Reader r, String tensorName, String paramName, Tensor dst) throws IOException {
        if (!r.contains(tensorName)) throw new CheckpointFormatException(r.file(), "missing tensor '" + tensorName + "'");
        long[] shape = r.info(tensorName).shape();
        int[] expected = dst.shape();
        if (!sameShape(shape, expected)) {
            throw new CheckpointFormatException(r.file(), "tensor '" + tensorName + "' has shape " + Arrays.toString(shape)
                    + " but parameter '" + paramName + "' needs " + Arrays.toString(expected));
        }
        HostTensor h = r.read(tensorName);
        if (h.dtype().equals("F64")) dst.copyFrom(h.toDoubleArray()); else dst.copyFrom(h.toFloatArray());
    }

    static boolean sameShape(long[] a, int[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
        return true;
    }

    /** Copies a tensor to the heap in its own dtype, for writing. */
    public static HostTensor toHost(Tensor t) {
        int[] s = t.shape();
        long[] shape = new long[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = s[i];
        switch (t.dtype) {
            case F32: return HostTensor.f32(shape, t.toFloatArray());
            case F64: return HostTensor.f64(shape, t.toDoubleArray());
            default: throw new IllegalStateException("unsupported dtype " + t.dtype);
        }
    }

    private static String abbreviate(List<String> names) {
        if (names.isEmpty()) return "none";
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " and " + (names.size() - 5) + " more";
    }
}
