package io.lowrank.spark.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.report.RunMetrics;

import java.util.List;
import java.util.Locale;

/** The comparison's numbers, one row per family, relative figures against full rank when it was trained. */
public final class CompareTable {
    public record Row(String layer, RunMetrics metrics, FamilyCost cost) {
        public long tokens() { return metrics.steps.isEmpty() ? 0 : metrics.steps.get(metrics.steps.size() - 1).tokens(); }
        public double trainingFlops() { return tokens() * cost.flopsPerToken(); }
        public double finalValLoss() { return metrics.lastValLoss(); }
        public double perplexity() { return Math.exp(finalValLoss()); }
    }

    public final List<Row> rows;

    public CompareTable(List<Row> rows) {
        this.rows = rows;
    }

    Row full() {
        for (Row r : rows) if (r.layer().equals("full")) return r;
        return null;
    }

    /** Perplexity relative to full rank's, minus one (NaN without a full-rank row). */
    double pplVsFull(Row r) {
        Row f = full();
        return f == null ? Double.NaN : r.perplexity() / f.perplexity() - 1;
    }

    double flopsVsFull(Row r) {
        Row f = full();
        return f == null ? Double.NaN : r.trainingFlops() / f.trainingFlops();
    }

    public static final List<String> HEADER = List.of("family", "parameters", "non-embedding parameters", "training GFLOP/token",
            "tokens", "training PFLOP", "FLOPs vs full", "tokens/s", "activation MiB", "final held-out loss", "perplexity", "perplexity vs full");

    public List<List<String>> cells() {
        List<List<String>> out = new java.util.ArrayList<>();
        for (Row r : rows) {
            out.add(List.of(r.layer(), Long.toString(r.cost().parameters()), Long.toString(r.cost().nonEmbeddingParameters()),
                    f("%.4f", r.cost().flopsPerToken() / 1e9), Long.toString(r.tokens()), f("%.4g", r.trainingFlops() / 1e15),
                    f("%.3f", flopsVsFull(r)), f("%.0f", r.metrics().meanTokensPerSecond()), f("%.1f", r.cost().activationBytes() / 1048576.0),
                    f("%.4f", r.finalValLoss()), f("%.3f", r.perplexity()), f("%+.2f%%", 100 * pplVsFull(r))));
        }
        return out;
    }

    public String text() {
        StringBuilder sb = new StringBuilder();
        List<List<String>> all = new java.util.ArrayList<>();
        all.add(HEADER);
        all.addAll(cells());
        int[] w = new int[HEADER.size()];
        for (List<String> row : all) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], row.get(i).length());
        for (List<String> row : all) {
            for (int i = 0; i < w.length; i++) sb.append(i == 0 ? "" : "  ").append(String.format("%" + (i == 0 ? "-" : "") + w[i] + "s", row.get(i)));
            sb.append('\n');
        }
        return sb.toString();
    }

    public ObjectNode json() {
        ObjectNode res = new ObjectMapper().createObjectNode();
        ArrayNode arr = res.putArray("families");
        for (Row r : rows) {
            arr.addObject().put("layer", r.layer()).put("parameters", r.cost().parameters())
                    .put("non_embedding_parameters", r.cost().nonEmbeddingParameters()).put("flops_per_token", r.cost().flopsPerToken())
                    .put("recompute_flops_per_token", r.cost().recomputeFlopsPerToken())
                    .put("tokens", r.tokens()).put("training_flops", r.trainingFlops()).put("flops_vs_full", flopsVsFull(r))
                    .put("tokens_per_s", r.metrics().meanTokensPerSecond()).put("activation_bytes", r.cost().activationBytes())
                    .put("final_val_loss", r.finalValLoss()).put("perplexity", r.perplexity()).put("perplexity_vs_full", pplVsFull(r))
                    .put("steps", r.metrics().lastStep());
        }
        return res;
    }

    static String f(String fmt, double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "-"; }
}
