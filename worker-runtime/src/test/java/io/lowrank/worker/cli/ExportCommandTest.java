package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.CheckpointInteropTest;
import io.lowrank.worker.checkpoint.HostTensor;
import io.lowrank.worker.checkpoint.JsonFiles;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.checkpoint.Safetensors;
import io.lowrank.worker.checkpoint.TokenizerInfo;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.train.WindowedLoss;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * export: the directory's config.json holds every key transformers' LlamaConfig writes (CoLA: the
 * reference's keys too), generation_config.json the tokenizer's ids; f32 weights are the
 * checkpoint's bit for bit (so eval's loss is identical), bf16 weights their rounding.
 */
class ExportCommandTest {
    @TempDir
    Path tmp;

    private Path checkpoint(LayerType t) throws Exception {
        ModelConfig c = new ModelConfig(40, 16, 24, 2, 2, 1e-6, 10000.0, 32, t, t == LayerType.FULL ? 0 : 4, false, 0.02);
        Path run = tmp.resolve("run-" + t.id);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(9);
            for (ParameterStore.Param p : ps.params()) {
                for (int i = 0; i < p.value.size; i++) p.value.set(i, p.name.endsWith("norm.weight") ? 1 + 0.1 * r.nextDouble() : (r.nextDouble() * 2 - 1) * 0.5);
            }
            ModelCheckpoint.save(CheckpointDir.stepDir(run, 7), c, new TokenizerInfo("gpt2", 50256), ps, null, null);
        }
        return run;
    }

    private static JsonNode export(Path model, Path out, String dtype) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        return ExportCommand.run(new ExportCommand.Options(model, out, dtype, 1), new PrintStream(o), new PrintStream(new ByteArrayOutputStream()));
    }

    private static double loss(Path dir) throws Exception {
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            ModelConfig c = ModelCheckpoint.readConfig(dir);
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            ModelCheckpoint.loadWeights(dir, ps);
            int[] tokens = new int[3 * 17];
            SplittableRandom r = new SplittableRandom(4);
            for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(c.vocabSize);
            return WindowedLoss.compute(be, c, ps, tokens, 16, 2, false).mean();
        }
    }

    @Test
    void fullRankExportsTheTransformersLayout() throws Exception {
        Path run = checkpoint(LayerType.FULL), src = CheckpointDir.stepDir(run, 7);
        JsonNode j = export(run, tmp.resolve("hf-f32"), "f32");
        assertEquals("transformers-llama", j.get("format").asText());
        JsonNode config = JsonFiles.readTree(tmp.resolve("hf-f32/config.json"));
        for (Iterator<String> it = CheckpointInteropTest.transformersLlamaConfig().fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("_name_or_path")) assertTrue(config.has(k), "config.json lacks " + k);
        }
        assertEquals("llama", config.get("model_type").asText());
        assertEquals("LlamaForCausalLM", config.get("architectures").get(0).asText());
        assertEquals(50256, config.get("eos_token_id").asInt());
        assertEquals("float32", config.get("torch_dtype").asText());
        assertTrue(config.get("rope_scaling").isNull());
        JsonNode gen = JsonFiles.readTree(tmp.resolve("hf-f32/generation_config.json"));
        assertEquals(50256, gen.get("eos_token_id").asInt());
        assertEquals(50256, gen.get("bos_token_id").asInt());
        assertEquals(loss(src), loss(tmp.resolve("hf-f32")), 0.0, "f32 export: the same weights, the same loss");

        export(run, tmp.resolve("hf-bf16"), "bf16");
        LinkedHashMap<String, HostTensor> orig = Safetensors.read(src.resolve("model.safetensors"));
        LinkedHashMap<String, HostTensor> bf = Safetensors.read(tmp.resolve("hf-bf16/model.safetensors"));
        assertEquals(orig.keySet(), bf.keySet());
        for (String name : orig.keySet()) {
            assertEquals(HostTensor.BF16, bf.get(name).dtype(), name);
            assertArrayEquals(HostTensor.bf16(orig.get(name).shape(), orig.get(name).toFloatArray()).toFloatArray(), bf.get(name).toFloatArray(), name);
        }
        assertEquals(loss(src), loss(tmp.resolve("hf-bf16")), 0.02 * loss(src), "bf16 rounding moves the loss a little");
        assertNotEquals(loss(src), loss(tmp.resolve("hf-bf16")), "bf16 weights are not the f32 ones");
    }

    @Test
    void colaExportsTheReferenceLayoutAndNothingIsOverwritten() throws Exception {
        Path run = checkpoint(LayerType.COLA);
        JsonNode j = export(run, tmp.resolve("cola"), "f32");
        assertEquals("cola-reference", j.get("format").asText());
        JsonNode config = JsonFiles.readTree(tmp.resolve("cola/config.json"));
        assertEquals("cola", config.get("model_type").asText());
        assertEquals("ColaForCausalLM", config.get("architectures").get(0).asText());
        assertEquals("silu", config.get("lr_act_type").asText());
        assertEquals(4, config.get("rank").asInt());
        assertTrue(Safetensors.read(tmp.resolve("cola/model.safetensors")).containsKey("model.layers.0.self_attn.q_proj.cola_a"));
        assertEquals(loss(CheckpointDir.stepDir(run, 7)), loss(tmp.resolve("cola")), 0.0);
        long before = Files.getLastModifiedTime(tmp.resolve("cola/model.safetensors")).toMillis();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> export(run, tmp.resolve("cola"), "bf16"));
        assertTrue(e.getMessage().contains("exists"), e.getMessage());
        assertEquals(before, Files.getLastModifiedTime(tmp.resolve("cola/model.safetensors")).toMillis());
        assertThrows(IllegalArgumentException.class, () -> new ExportCommand.Options(run, tmp.resolve("x"), "fp8", 1));
    }
}
