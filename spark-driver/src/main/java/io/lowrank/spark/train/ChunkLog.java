package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * The {@code kind: "train"} lines of {@code metrics.jsonl} for one chunk: one per step with the
 * loss averaged over the workers. Written by the driver into the run's log and by rank 0 into the
 * chunk's checkpoint (as {@value #FILE_NAME}), from which a resumed driver restores them.
 */
final class ChunkLog {
    static final String FILE_NAME = "chunk_metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChunkLog() {}

    /** @param tokensPerStep tokens of one optimizer step over all workers */
    static String trainLines(ChunkReport r0, double[] meanLosses, long tokensPerStep) {
        StringBuilder sb = new StringBuilder();
        double now = System.currentTimeMillis() / 1000.0;
        for (int i = 0; i < meanLosses.length; i++) {
            long step = r0.startStep + i + 1;
            ObjectNode m = JSON.createObjectNode();
            double time = r0.stepEndTimes == null ? now : r0.stepEndTimes[i];
            m.put("kind", "train").put("time", time).put("step", step).put("loss", meanLosses[i])
                    .put("lr", r0.learningRates[i]).put("grad_norm", r0.gradNorms[i]).put("tokens", step * tokensPerStep);
            if (r0.skipped != null && r0.skipped[i]) m.put("skipped", true);
            if (r0.stepExposedMs != null && Double.isFinite(r0.stepExposedMs[i])) m.put("allreduce_exposed_ms", r0.stepExposedMs[i]);
            sb.append(m).append('\n');
        }
        return sb.toString();
    }

    /** The highest step of a train line, 0 when none. Unparseable lines (a torn last line of a crash) are skipped. */
    static long lastTrainStep(String log) {
        long last = 0;
        for (JsonNode n : trainLines(log)) last = Math.max(last, n.path("step").asLong());
        return last;
    }

    static String linesAfter(String log, long step) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode n : trainLines(log)) if (n.path("step").asLong() > step) sb.append(n).append('\n');
        return sb.toString();
    }

    static double initialLoss(String log) {
        for (JsonNode n : trainLines(log)) if (n.path("step").asLong() == 1) return n.path("loss").asDouble();
        return Double.NaN;
    }

    private static java.util.List<JsonNode> trainLines(String log) {
        java.util.List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : log.split("\n")) {
            if (line.isBlank()) continue;
            try {
                JsonNode n = JSON.readTree(line);
                if ("train".equals(n.path("kind").asText())) out.add(n);
            } catch (IOException ignored) {
                // a torn last line of a crashed driver; the rest of the log is still usable
            }
        }
        return out;
    }
}
