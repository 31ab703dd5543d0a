package io.lowrank.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Architecture of a LLaMA decoder with one projection family. Field names follow the Hugging Face
 * LLaMA config.json so that checkpoints interoperate; {@link #toConfigJson()} and
 * {@link #fromConfigJson} are that contract.
 */
public final class ModelConfig {
    public final int vocabSize;
    public final int hiddenSize;
    public final int intermediateSize;
    public final int numLayers;
    public final int numHeads;
    public final double rmsNormEps;
    public final double ropeTheta;
    public final int maxPositionEmbeddings;
    public final LayerType layerType;
    /** Bottleneck rank of the low-rank families; 0 for full-rank. */
    public final int rank;
    /** CoLA: true drops the SiLU on the SwiGLU gate (only the bottleneck SiLUs remain). */
    public final boolean onlyLrAct;
    /** Std of the N(0, std^2) init of embedding, head and full-rank linears. */
    public final double initStd;

    public ModelConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                       double rmsNormEps, double ropeTheta, int maxPositionEmbeddings,
                       LayerType layerType, int rank, boolean onlyLrAct, double initStd) {
        this.vocabSize = vocabSize;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.numLayers = numLayers;
        this.numHeads = numHeads;
        this.rmsNormEps = rmsNormEps;
        this.ropeTheta = ropeTheta;
        this.maxPositionEmbeddings = maxPositionEmbeddings;
        this.layerType = layerType;
        this.rank = rank;
        this.onlyLrAct = onlyLrAct;
        this.initStd = initStd;
        validate();
    }

    public int headDim() { return hiddenSize / numHeads; }

    /** Rejects configurations that cannot be built, naming the field. */
    public void validate() {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (hiddenSize % numHeads != 0) {
            throw new ConfigException("num_attention_heads", numHeads + " does not divide hidden_size " + hiddenSize);
        }
        if (headDim() % 2 != 0) {
            throw new ConfigException("num_attention_heads", "head_dim " + headDim() + " must be even for rotary embeddings");
        }
        if (!(rmsNormEps > 0)) throw new ConfigException("rms_norm_eps", "must be > 0, got " + rmsNormEps);
        if (!(ropeTheta > 0)) throw new ConfigException("rope_theta", "must be > 0, got " + ropeTheta);
        if (!(initStd > 0)) throw new ConfigException("initializer_range", "must be > 0, got " + initStd);
        if (layerType != LayerType.FULL) {
            positive("rank", rank);
            int smallest = Math.min(hiddenSize, intermediateSize);
            if (rank > smallest) {
                throw new ConfigException("rank", rank + " exceeds min(d_in, d_out) = " + smallest + " of the smallest projection");
            }
        }
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new ConfigException(field, "must be > 0, got " + v);
    }

    public ModelConfig withLayerType(LayerType t, int rank) {
        return new ModelConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, rmsNormEps, ropeTheta,
                maxPositionEmbeddings, t, rank, onlyLrAct, initStd);
    }

    public ModelConfig withVocabSize(int v) {
        return new ModelConfig(v, hiddenSize, intermediateSize, numLayers, numHeads, rmsNormEps, ropeTheta,
                maxPositionEmbeddings, layerType, rank, onlyLrAct, initStd);
    }

    // ---- config.json (Hugging Face keys) ----

    private static final ObjectMapper JSON = new ObjectMapper();

    public ObjectNode toConfigJson() {
        ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add(layerType == LayerType.FULL ? "LlamaForCausalLM"
                : layerType.colaParameters() ? "ColaForCausalLM" : layerType == LayerType.CRNET ? "CrNetForCausalLM" : "ElasForCausalLM");
        // CoLA-M is CoLA's model with another training schedule: same model_type, our family in an extra key
        n.put("model_type", layerType == LayerType.FULL ? "llama" : layerType.colaParameters() ? "cola" : layerType.id);
        n.put("lowrank_layer_type", layerType.id);
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("num_hidden_layers", numLayers);
        n.put("num_attention_heads", numHeads);
        n.put("num_key_value_heads", numHeads);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("hidden_act", "silu");
        n.put("tie_word_embeddings", false);
        n.put("initializer_range", initStd);
        if (layerType != LayerType.FULL) {
            n.put("rank", rank);
            n.put("only_lr_act", onlyLrAct);
        }
        n.put("torch_dtype", "float32");
        return n;
    }

    /**
     * Keys a config.json written by Hugging Face {@code transformers}, the CoLA reference or this
     * project may carry besides the required ones. Those that do not change the computation are
     * ignored; those that could ({@link #checkImplemented}) must hold the value this model
     * implements. Anything else is an error naming the key (a typo must not pass silently).
     */
    private static final Set<String> TOLERATED = Set.of("architectures", "torch_dtype", "dtype", "transformers_version",
            "_name_or_path", "bos_token_id", "eos_token_id", "pad_token_id", "hidden_act", "tie_word_embeddings",
            "num_key_value_heads", "use_cache", "attention_bias", "attention_dropout", "mlp_bias", "pretraining_tp",
            "rope_scaling", "head_dim", "initializer_range", "rope_theta", "model_type", "rank", "only_lr_act",
            "lr_act_type", "lowrank_layer_type", "lowrank_tokenizer");

    /**
     * Keys whose value changes the computation: each must have the value this model implements,
     * else an error names the key and the value (a model computed differently would load silently).
     */
    static void checkImplemented(JsonNode n, String source) {
        for (String k : new String[]{"hidden_act", "lr_act_type"}) {
            if (n.hasNonNull(k) && !"silu".equals(n.get(k).asText())) {
                throw new ConfigException(k, n.get(k) + " in " + source + " is not implemented (only \"silu\")");
            }
        }
        if (n.has("tie_word_embeddings") && n.get("tie_word_embeddings").asBoolean()) {
            throw new ConfigException("tie_word_embeddings", "true in " + source + " is not implemented (the LM head is its own matrix)");
        }
        if (n.hasNonNull("num_key_value_heads") && n.hasNonNull("num_attention_heads")
                && n.get("num_key_value_heads").asInt() != n.get("num_attention_heads").asInt()) {
            throw new ConfigException("num_key_value_heads", n.get("num_key_value_heads") + " != num_attention_heads "
                    + n.get("num_attention_heads") + " in " + source + ": grouped-query attention is not implemented");
        }
        if (n.has("rope_scaling") && !n.get("rope_scaling").isNull()) {
            throw new ConfigException("rope_scaling", n.get("rope_scaling") + " in " + source + " is not implemented (must be null)");
        }
        for (String k : new String[]{"attention_bias", "mlp_bias"}) {
            if (n.has(k) && n.get(k).asBoolean()) {
                throw new ConfigException(k, "true in " + source + " is not implemented (the projections have no bias)");
            }
        }
        if (n.has("attention_dropout") && n.get("attention_dropout").asDouble() != 0.0) {
            throw new ConfigException("attention_dropout", n.get("attention_dropout") + " in " + source + " is not implemented (must be 0)");
        }
        if (n.hasNonNull("head_dim") && n.hasNonNull("hidden_size") && n.hasNonNull("num_attention_heads")
                && n.get("head_dim").asInt() * n.get("num_attention_heads").asInt() != n.get("hidden_size").asInt()) {
            throw new ConfigException("head_dim", n.get("head_dim") + " x num_attention_heads " + n.get("num_attention_heads")
                    + " != hidden_size " + n.get("hidden_size") + " in " + source + " is not implemented");
        }
    }

    public static ModelConfig fromConfigJson(JsonNode n, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            String k = it.next().getKey();
            if (!TOLERATED.contains(k) && !REQUIRED.contains(k)) {
                throw new ConfigException(k, "unknown key in " + source);
            }
        }
        for (String k : REQUIRED) {
            if (!n.has(k)) throw new ConfigException(k, "missing in " + source);
        }
        String modelType = n.path("model_type").asText("llama");
        LayerType type;
        switch (modelType) {
            case "llama": type = LayerType.FULL; break;
            case "cola": type = LayerType.COLA; break;
            case "crnet": type = LayerType.CRNET; break;
            case "elas": type = LayerType.ELAS; break;
            default: throw new ConfigException("model_type", "'" + modelType + "' in " + source + " is not supported (llama, cola, crnet, elas)");
        }
        if (n.has("lowrank_layer_type")) {
            LayerType declared = LayerType.parse(n.get("lowrank_layer_type").asText());
            boolean compatible = declared == type || (declared.colaParameters() && type.colaParameters());
            if (!compatible) {
                throw new ConfigException("lowrank_layer_type", declared.id + " contradicts model_type '" + modelType + "' in " + source);
            }
            type = declared;
        }
        checkImplemented(n, source);
        return new ModelConfig(
                n.get("vocab_size").asInt(), n.get("hidden_size").asInt(), n.get("intermediate_size").asInt(),
                n.get("num_hidden_layers").asInt(), n.get("num_attention_heads").asInt(),
                n.get("rms_norm_eps").asDouble(), n.path("rope_theta").asDouble(10000.0),
                n.get("max_position_embeddings").asInt(), type,
                type == LayerType.FULL ? 0 : n.path("rank").asInt(0),
                n.path("only_lr_act").asBoolean(false), n.path("initializer_range").asDouble(0.02));
    }

    private static final Set<String> REQUIRED = Set.of("vocab_size", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "rms_norm_eps", "max_position_embeddings");

    @Override
    public String toString() {
        return layerType.id + " d=" + hiddenSize + " ff=" + intermediateSize + " L=" + numLayers + " H=" + numHeads
                + " V=" + vocabSize + (layerType == LayerType.FULL ? "" : " r=" + rank + " only_lr_act=" + onlyLrAct);
    }
}
