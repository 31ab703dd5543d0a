package io.lowrank.spark.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.CheckpointManifest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Compares a run that was interrupted (executor and driver kills, retries, resumes) with an
 * uninterrupted run of the same steps, workers and configuration, both in local run directories.
 * CPU training is deterministic, so "the same" means bitwise: weights and optimizer moments byte for
 * byte, data cursors field for field, per-step losses as equal doubles. Each check names what it
 * found when it fails.
 */
public final class SoakVerifier {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** trainer_state.json fields that must be equal; run_config is the configuration, compared by the command that made both runs */
    private static final String[] STATE_FIELDS = {"step", "initial_loss", "lr_multiplier", "skipped_steps", "consecutive_skipped_steps",
            "train_cursors"};

    public record Check(String name, boolean ok, String detail) {
    }

    /** The checks, plus what the logs say about redone work. */
    public record Verdict(List<Check> checks, int stepsLoggedMoreThanOnce, List<Long> redoneLoggedSteps, int retryRecords,
                          int chunksWithStageRetry, List<String> leftoverTemporaryDirectories, List<Long> checkpointsInRun) {
        public boolean ok() {
            return checks.stream().allMatch(Check::ok);
        }

        public List<Check> failed() {
            return checks.stream().filter(c -> !c.ok()).toList();
        }
    }

    private SoakVerifier() {}

    public static Verdict verify(Path reference, Path interrupted, long steps) throws IOException {
        List<Check> checks = new ArrayList<>();
        Path refFinal = reference.resolve(CheckpointDir.stepDirName(steps)), runFinal = interrupted.resolve(CheckpointDir.stepDirName(steps));
        checks.add(finalWeights(refFinal, runFinal));
        JsonNode refState = readState(refFinal), runState = readState(runFinal);
        checks.add(trainerState(refState, runState));
        checks.add(sequencesExactlyOnce(reference, interrupted, refState, runState, steps));

        Metrics refMetrics = Metrics.read(reference.resolve("metrics.jsonl")), runMetrics = Metrics.read(interrupted.resolve("metrics.jsonl"));
        checks.add(everyStepLogged(refMetrics, runMetrics, steps));

        List<String> leftovers = new ArrayList<>();
        List<Long> checkpoints = new ArrayList<>();
        checks.add(checkpointsComplete(interrupted, steps, leftovers, checkpoints));
        return new Verdict(checks, runMetrics.redone.size(), runMetrics.redone, runMetrics.retries, runMetrics.stageRetries, leftovers, checkpoints);
    }

    static Check finalWeights(Path refFinal, Path runFinal) throws IOException {
        String name = "final_weights_bitwise";
        if (!Files.isDirectory(runFinal)) return new Check(name, false, "no final checkpoint " + runFinal);
        if (!Files.isDirectory(refFinal)) return new Check(name, false, "the uninterrupted run has no final checkpoint " + refFinal);
        long bytes = 0;
        int tensors = 0;
        for (String file : new String[]{CheckpointDir.MODEL_SAFETENSORS, CheckpointDir.OPTIMIZER_SAFETENSORS}) {
            String diff = SafetensorsBytes.firstDifference(refFinal.resolve(file), runFinal.resolve(file));
            if (diff != null) return new Check(name, false, diff);
            for (SafetensorsBytes.Tensor t : SafetensorsBytes.read(runFinal.resolve(file)).values()) {
                bytes += t.bytes().length;
                tensors++;
            }
        }
        return new Check(name, true, tensors + " tensors of " + CheckpointDir.MODEL_SAFETENSORS + " and " + CheckpointDir.OPTIMIZER_SAFETENSORS
                + " at " + runFinal.getFileName() + ", " + bytes + " bytes, equal byte for byte");
    }

    static Check trainerState(JsonNode ref, JsonNode run) {
        String name = "trainer_state_equal";
        if (ref == null || run == null) return new Check(name, false, "a final trainer_state.json is missing");
        for (String f : STATE_FIELDS) {
            if (!java.util.Objects.equals(ref.get(f), run.get(f))) {
                return new Check(name, false, "trainer_state.json field " + f + ": " + run.get(f) + ", uninterrupted run " + ref.get(f));
            }
        }
        return new Check(name, true, "fields " + String.join(", ", STATE_FIELDS) + " equal");
    }

    /**
     * Each rank's data cursor counts the sequences it served and where it stands; a retried chunk
     * restarts from its checkpoint's cursors, so a sequence read by a lost attempt is not counted.
     * Exactly once = the cursors' total is steps x global batch, and every checkpoint both runs kept
     * has the uninterrupted run's cursors (the same sequences up to that step, none skipped or doubled).
     */
    static Check sequencesExactlyOnce(Path reference, Path interrupted, JsonNode refState, JsonNode runState, long steps) throws IOException {
        String name = "sequences_exactly_once";
        if (refState == null || runState == null) return new Check(name, false, "a final trainer_state.json is missing");
        JsonNode train = runState.path("run_config").path("train");
        long perStep = (long) runState.path("train_cursors").size() * train.path("batch_size").asLong() * Math.max(1, train.path("grad_accum").asLong());
        long served = 0;
        for (JsonNode c : runState.path("train_cursors")) served += c.path("sequencesServed").asLong();
        if (served != steps * perStep) {
            return new Check(name, false, "the cursors served " + served + " sequences; " + steps + " steps x " + perStep + " per step = " + steps * perStep);
        }
        int compared = 0;
        for (long step : checkpointSteps(interrupted)) {
            Path ref = reference.resolve(CheckpointDir.stepDirName(step));
            if (!Files.isDirectory(ref)) continue;
            JsonNode a = readState(ref).get("train_cursors"), b = readState(interrupted.resolve(CheckpointDir.stepDirName(step))).get("train_cursors");
            if (!java.util.Objects.equals(a, b)) {
                return new Check(name, false, "cursors at step " + step + ": " + b + ", uninterrupted run " + a);
            }
            compared++;
        }
        if (compared == 0) return new Check(name, false, "no checkpoint step in common with the uninterrupted run");
        return new Check(name, true, served + " sequences = " + steps + " steps x " + perStep + "; cursors equal to the uninterrupted run's at "
                + compared + " checkpoint(s)");
    }

    static Check everyStepLogged(Metrics ref, Metrics run, long steps) {
        String name = "every_step_logged";
        List<Long> missing = new ArrayList<>();
        for (long s = 1; s <= steps; s++) if (!run.lossByStep.containsKey(s)) missing.add(s);
        if (!missing.isEmpty()) return new Check(name, false, missing.size() + " step(s) never logged in metrics.jsonl: " + head(missing));
        if (run.lossByStep.lastKey() > steps) return new Check(name, false, "steps logged beyond " + steps + ": up to " + run.lossByStep.lastKey());
        for (long s = 1; s <= steps; s++) {
            Double a = ref.lossByStep.get(s), b = run.lossByStep.get(s);
            if (a == null) return new Check(name, false, "the uninterrupted run did not log step " + s);
            if (Double.doubleToRawLongBits(a) != Double.doubleToRawLongBits(b)) {
                return new Check(name, false, "step " + s + " loss " + b + ", uninterrupted run " + a);
            }
            for (double again : run.allLosses.get(s)) {
                if (Double.doubleToRawLongBits(again) != Double.doubleToRawLongBits(a)) {
                    return new Check(name, false, "step " + s + " was logged twice with different losses " + run.allLosses.get(s) + " (uninterrupted " + a + ")");
                }
            }
        }
        return new Check(name, true, "steps 1-" + steps + " logged, losses equal to the uninterrupted run's as doubles"
                + (run.redone.isEmpty() ? "" : "; " + run.redone.size() + " step(s) logged twice (redone, same loss)"));
    }

    /**
     * Every directory with a checkpoint's name is complete and passes checksums.json; temporary
     * ({@code .tmp-}) and moved-aside ({@code .old-}) directories a kill left are listed, and must
     * not carry a name a resume would take for a checkpoint.
     */
    static Check checkpointsComplete(Path run, long steps, List<String> leftovers, List<Long> checkpoints) throws IOException {
        String name = "checkpoints_complete";
        List<String> problems = new ArrayList<>();
        try (Stream<Path> children = Files.list(run)) {
            for (Path p : children.sorted().toList()) {
                String n = p.getFileName().toString();
                OptionalLong step = CheckpointDir.parseStep(n);
                if (step.isPresent()) {
                    checkpoints.add(step.getAsLong());
                    if (!Files.isDirectory(p)) {
                        problems.add(n + " is not a directory");
                        continue;
                    }
                    for (String f : new String[]{CheckpointDir.CONFIG_JSON, CheckpointDir.MODEL_SAFETENSORS, CheckpointDir.OPTIMIZER_SAFETENSORS,
                            CheckpointDir.TRAINER_STATE_JSON, CheckpointManifest.FILE_NAME}) {
                        if (!Files.isRegularFile(p.resolve(f))) problems.add(n + " lacks " + f);
                    }
                    CheckpointManifest.Verdict v = CheckpointManifest.verify(p);
                    if (!v.ok()) problems.add(n + ": " + v.problem());
                } else if (n.startsWith("step-") || n.contains(CheckpointDir.TMP_INFIX) || n.contains(CheckpointDir.OLD_INFIX)) {
                    if (Files.isDirectory(p)) leftovers.add(n);
                }
            }
        }
        if (!checkpoints.contains(steps)) problems.add("no checkpoint of the final step " + steps);
        if (!problems.isEmpty()) return new Check(name, false, String.join("; ", problems));
        return new Check(name, true, checkpoints.size() + " checkpoint(s) " + checkpoints + " complete, checksums pass"
                + (leftovers.isEmpty() ? "; no temporary directories" : "; " + leftovers.size() + " temporary directories left by kills, none with a checkpoint's name: " + leftovers));
    }

    private static List<Long> checkpointSteps(Path run) throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> children = Files.list(run)) {
            for (Path p : children.toList()) {
                OptionalLong s = CheckpointDir.parseStep(p.getFileName().toString());
                if (s.isPresent() && Files.isRegularFile(p.resolve(CheckpointDir.TRAINER_STATE_JSON))) out.add(s.getAsLong());
            }
        }
        java.util.Collections.sort(out);
        return out;
    }

    private static JsonNode readState(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(CheckpointDir.TRAINER_STATE_JSON);
        return Files.isRegularFile(f) ? JSON.readTree(f.toFile()) : null;
    }

    private static String head(List<Long> steps) {
        return steps.size() <= 20 ? steps.toString() : steps.subList(0, 20) + " ...";
    }

    /** What metrics.jsonl says: the loss of each step (the last logged), repeats, chunks, retries. */
    static final class Metrics {
        final TreeMap<Long, Double> lossByStep = new TreeMap<>();
        final Map<Long, List<Double>> allLosses = new TreeMap<>();
        final List<Long> redone = new ArrayList<>();
        int retries, stageRetries;

        static Metrics read(Path file) throws IOException {
            Metrics m = new Metrics();
            if (!Files.isRegularFile(file)) return m;
            for (String line : Files.readAllLines(file)) {
                if (line.isBlank()) continue;
                JsonNode n = JSON.readTree(line);
                switch (n.path("kind").asText()) {
                    case "train" -> {
                        long s = n.get("step").asLong();
                        double loss = n.get("loss").asDouble();
                        if (m.lossByStep.containsKey(s)) m.redone.add(s);
                        m.lossByStep.put(s, loss);
                        m.allLosses.computeIfAbsent(s, k -> new ArrayList<>()).add(loss);
                    }
                    case "chunk" -> {
                        if (n.path("stage_attempt").asInt() > 0) m.stageRetries++;
                    }
                    case "retry" -> m.retries++;
                    default -> { }
                }
            }
            return m;
        }
    }
}
