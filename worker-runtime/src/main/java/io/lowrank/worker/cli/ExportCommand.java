package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.HostTensor;
import io.lowrank.worker.checkpoint.JsonFiles;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.checkpoint.Safetensors;
import io.lowrank.worker.checkpoint.TokenizerInfo;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code export}: a checkpoint as the tools people serve models with read it. Full-rank: a
 * directory Hugging Face {@code transformers}' {@code LlamaForCausalLM.from_pretrained} loads
 * (config.json with every LlamaConfig key, generation_config.json, model.safetensors under the HF
 * names). CoLA and CoLA-M: the CoLA reference layout (model_type cola, ColaForCausalLM, rank,
 * lr_act_type, only_lr_act; cola_a/cola_b factors). CR-Net and ELAS have no outside reference:
 * their export is this project's layout with the same complete config. Weights in bf16 or f32;
 * the tokenizer's end-of-text id as bos/eos in both JSON files. Optimizer and trainer state are
 * not exported. The directory appears atomically and an existing one is never overwritten.
 */
@Command(name = "export", description = "a checkpoint as transformers (full-rank) or the CoLA reference (CoLA) load it")
public final class ExportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "checkpoint directory, or a run directory: its newest complete step-N/ checkpoint (required)")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR2", description = "the directory to create; must not exist (required)")
    Path out;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "bf16", description = "weights as bf16 or f32 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--threads", paramLabel = "T", description = "threads (default: all cores)")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        run(new Options(model, out, dtype, threads != null ? threads : Runtime.getRuntime().availableProcessors()), System.out, System.err);
        return 0;
    }
    /** The transformers version whose LlamaConfig keys config.json spells out. */
    static final String TRANSFORMERS_VERSION = "4.46.3";

    public record Options(Path model, Path out, String dtype, int threads) {
        public Options {
            if (!dtype.equals("bf16") && !dtype.equals("f32")) throw new IllegalArgumentException("export: --dtype must be bf16 or f32, got '" + dtype + "'");
        }
    }

    public static ObjectNode run(Options o, PrintStream out, PrintStream err) throws IOException {
        if (Files.exists(o.out())) throw new IllegalArgumentException("export: --out " + o.out() + " exists: choose a new directory (nothing is overwritten)");
        CheckpointLoader ck = CheckpointLoader.open(o.model(), err);
        ModelConfig c = ck.config;
        Optional<TokenizerInfo> tok = ck.recordedTokenizer;
        ObjectNode config = hfConfig(c, tok, o.dtype());
        ObjectNode generation = JSON.createObjectNode();
        generation.put("_from_model_config", true);
        tok.ifPresent(t -> generation.put("bos_token_id", t.endOfTextId()).put("eos_token_id", t.endOfTextId()));
        generation.put("transformers_version", TRANSFORMERS_VERSION);
        long[] bytes = new long[1];
        int[] count = new int[1];
        try (Backend be = new Nd4jCpuBackend(DType.F32, o.threads())) {
            ParameterStore ps = ck.loadWeights(be, false);
            CheckpointDir.writeAtomically(o.out(), dir -> {
                JsonFiles.writePretty(dir.resolve(CheckpointDir.CONFIG_JSON), config);
                JsonFiles.writePretty(dir.resolve("generation_config.json"), generation);
                LinkedHashMap<String, HostTensor> weights = new LinkedHashMap<>();
                for (ParameterStore.Param p : ps.params()) {
                    HostTensor h = ModelCheckpoint.toHost(be, p.value);
                    weights.put(p.name, o.dtype().equals("bf16") ? HostTensor.bf16(h.shape(), h.toFloatArray()) : h);
                    bytes[0] += (long) p.value.size * (o.dtype().equals("bf16") ? 2 : 4);
                    count[0]++;
                }
                Safetensors.write(dir.resolve(CheckpointDir.MODEL_SAFETENSORS), weights, Map.of("format", "pt"));
            });
        }
        ObjectNode j = JSON.createObjectNode();
        j.put("out", o.out().toString()).put("model", ck.dir.toString()).put("layer_type", c.layerType.id)
                .put("format", format(c.layerType)).put("dtype", o.dtype()).put("tensors", count[0]).put("weight_bytes", bytes[0])
                .put("tokenizer", tok.map(TokenizerInfo::name).orElse(null));
        out.println(JSON.writeValueAsString(j));
        return j;
    }

    static String format(LayerType t) {
        return t == LayerType.FULL ? "transformers-llama" : t.colaParameters() ? "cola-reference" : "lowrank-" + t.id;
    }

    /**
     * config.json with every key transformers' LlamaConfig writes (values this model implements),
     * the family's own keys, and the tokenizer's ids.
     */
    static ObjectNode hfConfig(ModelConfig c, Optional<TokenizerInfo> tok, String dtype) {
        ObjectNode n = ModelCheckpoint.configJson(c, tok.orElse(null));
        n.put("attention_bias", false).put("attention_dropout", 0.0).put("head_dim", c.headDim()).put("mlp_bias", false)
                .put("pretraining_tp", 1).putNull("rope_scaling");
        n.put("torch_dtype", dtype.equals("bf16") ? "bfloat16" : "float32").put("transformers_version", TRANSFORMERS_VERSION)
                .put("use_cache", true);
        if (c.layerType.colaParameters()) n.put("lr_act_type", "silu");
        return n;
    }
}
