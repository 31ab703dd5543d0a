package io.lowrank.worker.model;

import java.util.LinkedHashMap;

/**
 * Parameter names and shapes of a model: the checkpoint contract. Names are the Hugging Face LLaMA
 * names; CoLA factors use the CoLA reference names (cola_a [in, r], cola_b [r, out]).
 */
public final class ModelLayout {
    private ModelLayout() {}

    public static final String[] ATTENTION = {"q_proj", "k_proj", "v_proj", "o_proj"};
    public static final String[] MLP = {"gate_proj", "up_proj", "down_proj"};

    public static String layerPrefix(int layer) { return "model.layers." + layer + "."; }

    public static String projectionName(int layer, String proj) {
        return layerPrefix(layer) + (isAttention(proj) ? "self_attn." : "mlp.") + proj;
    }

    static boolean isAttention(String proj) {
        for (String a : ATTENTION) if (a.equals(proj)) return true;
        return false;
    }

    /** {in, out} features of a projection. */
    public static int[] projectionDims(ModelConfig c, String proj) {
        int d = c.hiddenSize, ff = c.intermediateSize;
        switch (proj) {
            case "gate_proj": case "up_proj": return new int[]{d, ff};
            case "down_proj": return new int[]{ff, d};
            default: return new int[]{d, d};
        }
    }

    /** The MLP projections a family has: ELAS has no gate. */
    public static String[] mlpProjections(ModelConfig c) {
        return c.layerType == LayerType.ELAS ? new String[]{"up_proj", "down_proj"} : MLP;
    }

    public static LinkedHashMap<String, int[]> of(ModelConfig c) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        int d = c.hiddenSize;
        m.put("model.embed_tokens.weight", new int[]{c.vocabSize, d});
        for (int l = 0; l < c.numLayers; l++) {
            String p = layerPrefix(l);
            m.put(p + "input_layernorm.weight", new int[]{d});
            for (String proj : ATTENTION) addProjection(m, c, l, proj);
            m.put(p + "post_attention_layernorm.weight", new int[]{d});
            for (String proj : mlpProjections(c)) addProjection(m, c, l, proj);
        }
        m.put("model.norm.weight", new int[]{d});
        m.put("lm_head.weight", new int[]{c.vocabSize, d});
        return m;
    }

    private static void addProjection(LinkedHashMap<String, int[]> m, ModelConfig c, int layer, String proj) {
        int[] io = projectionDims(c, proj);
        String name = projectionName(layer, proj);
        switch (c.layerType) {
            case FULL:
                m.put(name + ".weight", new int[]{io[1], io[0]});
                break;
            case COLA:
            case COLA_M:
                m.put(name + ".cola_a", new int[]{io[0], c.rank});
                m.put(name + ".cola_b", new int[]{c.rank, io[1]});
                break;
            case CRNET:
                if (layer == 0) {
                    m.put(name + ".weight", new int[]{io[1], io[0]});      // CR-Net's first layer is full-rank
                } else {
                    m.put(name + ".cr_a", new int[]{io[0], c.rank});
                    m.put(name + ".cr_b", new int[]{c.rank, io[1]});
                    m.put(name + ".cr_beta", new int[]{1});
                }
                break;
            case ELAS:
                m.put(name + ".w_in", new int[]{io[0], c.rank});
                m.put(name + ".w_out", new int[]{io[1], c.rank});
                break;
            default:
                throw new IllegalStateException("no layout for " + c.layerType);
        }
    }
}
