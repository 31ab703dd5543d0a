package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's result numbers read back from its metrics.jsonl, for a resume that has nothing left to
 * train: the same fields a training command prints at its end, from the log instead of NaNs.
 * final_loss is the mean loss of the last chunk's steps (a "chunk" line: distributed runs), else of
 * the last {@code window} steps (train.log_every: single-process runs).
 */
public final class RunSummary {
    private static final ObjectMapper JSON = new ObjectMapper();

    public final long lastStep, finalLossSteps;
    public final double initialLoss, finalLoss, lastStepLoss, valLoss;

    private RunSummary(long lastStep, long finalLossSteps, double initialLoss, double finalLoss, double lastStepLoss, double valLoss) {
        this.lastStep = lastStep;
        this.finalLossSteps = finalLossSteps;
        this.initialLoss = initialLoss;
        this.finalLoss = finalLoss;
        this.lastStepLoss = lastStepLoss;
        this.valLoss = valLoss;
    }

    /** Lines that do not parse (a torn last line after a crash) are skipped; a step logged twice counts once (the later line). */
    public static RunSummary of(String metricsJsonl, long window) {
        TreeMap<Long, Double> losses = new TreeMap<>();
        long chunkFirst = -1, chunkLast = -1;
        double val = Double.NaN;
        for (String line : metricsJsonl.split("\n")) {
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException torn) {
                continue;
            }
            switch (n.path("kind").asText()) {
                case "train" -> losses.put(n.path("step").asLong(), n.path("loss").asDouble());
                case "eval" -> val = n.path("val_loss").asDouble(Double.NaN);
                case "chunk" -> {
                    chunkFirst = n.path("first_step").asLong();
                    chunkLast = n.path("last_step").asLong();
                }
                default -> { }
            }
        }
        if (losses.isEmpty()) return new RunSummary(0, 0, Double.NaN, Double.NaN, Double.NaN, val);
        long last = losses.lastKey();
        long from = chunkLast == last ? chunkFirst : last - Math.max(1, window) + 1;
        double sum = 0;
        long count = 0;
        for (Map.Entry<Long, Double> e : losses.tailMap(from, true).entrySet()) {
            sum += e.getValue();
            count++;
        }
        Double first = losses.get(1L);
        return new RunSummary(last, count, first == null ? Double.NaN : first, sum / count, losses.get(last), val);
    }
}
