package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.model.ConfigException;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a checkpoint must say about itself for generation and interop: which directory --model
 * means, its tokenizer, config.json as transformers and the CoLA reference write it, 16-bit weights.
 */
public class CheckpointInteropTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static ModelConfig tiny(LayerType t) {
        return new ModelConfig(40, 16, 24, 2, 2, 1e-6, 10000.0, 32, t, t == LayerType.FULL ? 0 : 4, false, 0.02);
    }

    private static void save(Path dir, ModelConfig c, TokenizerInfo tok) throws IOException {
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            ModelCheckpoint.save(dir, c, tok, new ParameterStore(be, ModelLayout.of(c)), null, null);
        }
    }

    @Test
    void modelMeansTheCheckpointOrTheRunsNewestCompleteOne() throws IOException {
        ModelConfig c = tiny(LayerType.COLA);
        Path run = tmp.resolve("run");
        save(CheckpointDir.stepDir(run, 10), c, null);
        save(CheckpointDir.stepDir(run, 20), c, null);
        save(run.resolve("step-00000030.tmp-1a2b"), c, null);            // a crashed write: complete content, tmp name
        Files.createDirectories(run.resolve("step-00000040"));            // incomplete: config only
        Files.copy(run.resolve("step-00000010/config.json"), run.resolve("step-00000040/config.json"));
        assertEquals(CheckpointDir.stepDir(run, 20), CheckpointDir.resolveModel(run));
        assertEquals(CheckpointDir.stepDir(run, 10), CheckpointDir.resolveModel(CheckpointDir.stepDir(run, 10)));
        IOException incomplete = assertThrows(IOException.class, () -> CheckpointDir.resolveModel(run.resolve("step-00000040")));
        assertTrue(incomplete.getMessage().contains("incomplete checkpoint") && incomplete.getMessage().contains("model.safetensors"), incomplete.getMessage());
        Files.createDirectories(tmp.resolve("empty"));
        IOException neither = assertThrows(IOException.class, () -> CheckpointDir.resolveModel(tmp.resolve("empty")));
        assertTrue(neither.getMessage().contains("neither a checkpoint") && neither.getMessage().contains("empty"), neither.getMessage());
        assertThrows(IOException.class, () -> CheckpointDir.resolveModel(tmp.resolve("missing")));
    }

    @Test
    void theCheckpointRecordsItsTokenizer() throws IOException {
        ModelConfig c = tiny(LayerType.FULL);
        Path dir = tmp.resolve("with");
        save(dir, c, new TokenizerInfo("gpt2-32k", 31999));
        assertEquals(Optional.of(new TokenizerInfo("gpt2-32k", 31999)), ModelCheckpoint.readTokenizer(dir));
        ObjectNode config = (ObjectNode) JsonFiles.readTree(dir.resolve("config.json"));
        assertEquals(31999, config.get("eos_token_id").asInt());
        assertEquals(c.toString(), ModelCheckpoint.readConfig(dir).toString());   // the new keys load back

        // written before config.json carried it: the run configuration in trainer_state.json says it
        Path old = tmp.resolve("old");
        save(old, c, null);
        JsonFiles.writePretty(old.resolve(CheckpointDir.TRAINER_STATE_JSON),
                JSON.readTree("{\"step\": 5, \"run_config\": {\"model\": {}, \"train\": {\"tokenizer\": \"gpt2\"}}}"));
        assertEquals(Optional.of(new TokenizerInfo("gpt2", 50256)), ModelCheckpoint.readTokenizer(old));

        // written by other tooling: nothing to go by
        Path other = tmp.resolve("other");
        save(other, c, null);
        assertEquals(Optional.empty(), ModelCheckpoint.readTokenizer(other));
    }

    @Test
    void elasIsSparseFromItsDenseWarmupOn() throws IOException {
        Path dir = tmp.resolve("elas");
        save(dir, tiny(LayerType.ELAS), null);
        assertTrue(ModelCheckpoint.elasSparse(dir), "no trainer state: trained past the warm-up");
        JsonFiles.writePretty(dir.resolve(CheckpointDir.TRAINER_STATE_JSON),
                JSON.readTree("{\"step\": 99, \"run_config\": {\"model\": {\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"layer_type\": \"elas\", \"rank\": 4}, \"train\": {\"dense_warmup_steps\": 100}}}"));
        assertFalse(ModelCheckpoint.elasSparse(dir));
        JsonFiles.writePretty(dir.resolve(CheckpointDir.TRAINER_STATE_JSON),
                JSON.readTree("{\"step\": 100, \"run_config\": {\"model\": {\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"layer_type\": \"elas\", \"rank\": 4}, \"train\": {\"dense_warmup_steps\": 100}}}"));
        assertTrue(ModelCheckpoint.elasSparse(dir));
    }

    /** config.json as transformers 4.4x writes it for LlamaForCausalLM (LlamaConfig.to_json_string). */
    public static ObjectNode transformersLlamaConfig() throws IOException {
        return (ObjectNode) JSON.readTree("{\"architectures\": [\"LlamaForCausalLM\"], \"attention_bias\": false, \"attention_dropout\": 0.0,"
                + " \"bos_token_id\": 1, \"eos_token_id\": 2, \"head_dim\": 8, \"hidden_act\": \"silu\", \"hidden_size\": 16,"
                + " \"initializer_range\": 0.02, \"intermediate_size\": 24, \"max_position_embeddings\": 32, \"mlp_bias\": false,"
                + " \"model_type\": \"llama\", \"num_attention_heads\": 2, \"num_hidden_layers\": 2, \"num_key_value_heads\": 2,"
                + " \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-06, \"rope_scaling\": null, \"rope_theta\": 10000.0,"
                + " \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\", \"transformers_version\": \"4.46.3\","
                + " \"use_cache\": true, \"vocab_size\": 40, \"_name_or_path\": \"/tmp/x\"}");
    }

    @Test
    void configsAsTransformersAndTheColaReferenceWriteThemLoad() throws IOException {
        assertEquals(tiny(LayerType.FULL).toString(), ModelConfig.fromConfigJson(transformersLlamaConfig(), "hf").toString());
        ObjectNode cola = transformersLlamaConfig();
        cola.putArray("architectures").add("ColaForCausalLM");
        cola.put("model_type", "cola").put("rank", 4).put("lr_act_type", "silu").put("only_lr_act", false);
        assertEquals(tiny(LayerType.COLA).toString(), ModelConfig.fromConfigJson(cola, "cola").toString());
    }

    @Test
    void aValueTheModelDoesNotImplementIsAnErrorNamingTheKeyAndValue() throws IOException {
        Map<String, Object> unimplemented = new LinkedHashMap<>();
        unimplemented.put("num_key_value_heads", 1);
        unimplemented.put("tie_word_embeddings", true);
        unimplemented.put("hidden_act", "gelu");
        unimplemented.put("lr_act_type", "relu");
        unimplemented.put("rope_scaling", Map.of("type", "linear", "factor", 2.0));
        unimplemented.put("attention_bias", true);
        unimplemented.put("mlp_bias", true);
        unimplemented.put("head_dim", 4);
        for (Map.Entry<String, Object> e : unimplemented.entrySet()) {
            ObjectNode n = transformersLlamaConfig();
            n.set(e.getKey(), JSON.valueToTree(e.getValue()));
            ConfigException ex = assertThrows(ConfigException.class, () -> ModelConfig.fromConfigJson(n, "x/config.json"), e.getKey());
            String value = JSON.valueToTree(e.getValue()).toString().replace("\"", "");
            assertTrue(ex.getMessage().contains(e.getKey()) && ex.getMessage().replace("\"", "").contains(value),
                    e.getKey() + ": " + ex.getMessage());
        }
        ObjectNode typo = transformersLlamaConfig();
        typo.put("hiden_size", 16);
        ConfigException ex = assertThrows(ConfigException.class, () -> ModelConfig.fromConfigJson(typo, "x/config.json"));
        assertTrue(ex.getMessage().contains("hiden_size") && ex.getMessage().contains("unknown key"), ex.getMessage());
    }

    @Test
    void bf16AndF16WeightsLoad() throws IOException {
        ModelConfig c = tiny(LayerType.COLA);
        for (String dtype : new String[]{HostTensor.BF16, HostTensor.F16}) {
            Path dir = tmp.resolve(dtype);
            Files.createDirectories(dir);
            JsonFiles.writePretty(dir.resolve(CheckpointDir.CONFIG_JSON), c.toConfigJson());
            LinkedHashMap<String, HostTensor> weights = new LinkedHashMap<>();
            LinkedHashMap<String, float[]> rounded = new LinkedHashMap<>();
            SplittableRandom r = new SplittableRandom(3);
            for (Map.Entry<String, int[]> e : ModelLayout.of(c).entrySet()) {
                int n = 1;
                for (int s : e.getValue()) n *= s;
                float[] v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
                long[] shape = java.util.Arrays.stream(e.getValue()).asLongStream().toArray();
                HostTensor h = dtype.equals(HostTensor.BF16) ? HostTensor.bf16(shape, v) : HostTensor.f16(shape, v);
                weights.put(e.getKey(), h);
                rounded.put(e.getKey(), h.toFloatArray());
            }
            Safetensors.write(dir.resolve(CheckpointDir.MODEL_SAFETENSORS), weights, Map.of("format", "pt"));
            try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
                ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
                ModelCheckpoint.loadWeights(dir, ps);
                for (ParameterStore.Param p : ps.params()) {
                    assertArrayEquals(rounded.get(p.name), p.value.toFloatArray(), dtype + " " + p.name);
                }
            }
        }
    }
}
