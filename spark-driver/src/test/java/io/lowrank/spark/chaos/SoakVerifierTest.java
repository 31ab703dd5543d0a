package io.lowrank.spark.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.CheckpointManifest;
import io.lowrank.worker.checkpoint.HostTensor;
import io.lowrank.worker.checkpoint.Safetensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each check of the soak's verifier on two run directories written here (checkpoints with
 * safetensors, trainer states and checksums; metrics.jsonl), first equal, then with one thing
 * changed: one byte of one weight or moment, a cursor, a missing or re-logged step, a loss one ulp
 * off, a corrupt or incomplete checkpoint. Every change fails exactly the check that owns it.
 */
class SoakVerifierTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long STEPS = 6;
    private Path reference, run;

    @BeforeEach
    void twoEqualRuns(@TempDir Path tmp) throws IOException {
        reference = tmp.resolve("reference");
        run = tmp.resolve("interrupted");
        writeRun(reference);
        writeRun(run);
    }

    @Test
    void equalRunsPassEveryCheck() throws IOException {
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertTrue(v.ok(), v.failed().toString());
        assertEquals(List.of("final_weights_bitwise", "trainer_state_equal", "sequences_exactly_once", "every_step_logged", "checkpoints_complete"),
                v.checks().stream().map(SoakVerifier.Check::name).toList());
        assertEquals(List.of(4L, 6L), v.checkpointsInRun());
    }

    @Test
    void oneWeightByteDifferentFailsTheBitwiseCheckNamingTheTensor() throws IOException {
        Path model = run.resolve(CheckpointDir.stepDirName(STEPS)).resolve(CheckpointDir.MODEL_SAFETENSORS);
        flipLastByte(model);   // the last byte of the last tensor's data ("w.up" sorts last in the file)
        CheckpointManifest.write(model.getParent());   // a consistent checkpoint: only the weights differ
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("final_weights_bitwise"), failedNames(v));
        String detail = v.failed().get(0).detail();
        assertTrue(detail.contains("w.up") && detail.contains("1 bytes differ"), detail);
    }

    @Test
    void oneOptimizerByteDifferentFailsTheBitwiseCheck() throws IOException {
        Path opt = run.resolve(CheckpointDir.stepDirName(STEPS)).resolve(CheckpointDir.OPTIMIZER_SAFETENSORS);
        flipLastByte(opt);
        CheckpointManifest.write(opt.getParent());
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("final_weights_bitwise"), failedNames(v));
        assertTrue(v.failed().get(0).detail().contains(CheckpointDir.OPTIMIZER_SAFETENSORS), v.failed().get(0).detail());
    }

    @Test
    void aSequenceMissingFromTheCursorsFails() throws IOException {
        editCursor(STEPS, 1, c -> c.put("sequencesServed", c.get("sequencesServed").asLong() - 1));
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertTrue(failedNames(v).contains("sequences_exactly_once"), v.failed().toString());
        assertTrue(detail(v, "sequences_exactly_once").contains("23 sequences"), detail(v, "sequences_exactly_once"));
    }

    @Test
    void aCursorAtAnotherWindowWithTheSameCountFailsAtThatCheckpoint() throws IOException {
        // one sequence skipped and another read twice: the count stays, the position does not
        editCursor(4, 0, c -> c.put("offset", c.get("offset").asLong() + 16));
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("sequences_exactly_once"), failedNames(v));
        assertTrue(detail(v, "sequences_exactly_once").contains("cursors at step 4"), detail(v, "sequences_exactly_once"));
    }

    @Test
    void aStepNeverLoggedFails() throws IOException {
        rewriteMetrics(lines -> lines.stream().filter(l -> !l.contains("\"step\":3,")).toList());
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("every_step_logged"), failedNames(v));
        assertTrue(detail(v, "every_step_logged").contains("[3]"), detail(v, "every_step_logged"));
    }

    @Test
    void aLossOneUlpOffFails() throws IOException {
        rewriteMetrics(lines -> lines.stream().map(l -> {
            if (!l.contains("\"step\":5,")) return l;
            try {
                ObjectNode n = (ObjectNode) JSON.readTree(l);
                n.put("loss", Math.nextUp(n.get("loss").asDouble()));
                return n.toString();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).toList());
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("every_step_logged"), failedNames(v));
        assertTrue(detail(v, "every_step_logged").startsWith("step 5 loss"), detail(v, "every_step_logged"));
    }

    @Test
    void aRedoneStepIsCountedAndMustRepeatItsLoss() throws IOException {
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        String step5 = lines.stream().filter(l -> l.contains("\"step\":5,")).findFirst().orElseThrow();
        Files.write(run.resolve("metrics.jsonl"), Stream.concat(lines.stream(), Stream.of(step5)).toList());
        SoakVerifier.Verdict v = SoakVerifier.verify(reference, run, STEPS);
        assertTrue(v.ok(), v.failed().toString());
        assertEquals(List.of(5L), v.redoneLoggedSteps());

        ObjectNode other = (ObjectNode) JSON.readTree(step5);
        other.put("loss", other.get("loss").asDouble() + 0.5);
        Files.write(run.resolve("metrics.jsonl"), Stream.concat(lines.stream(), Stream.of(other.toString(), step5)).toList());
        assertEquals(List.of("every_step_logged"), failedNames(SoakVerifier.verify(reference, run, STEPS)));
    }

    @Test
    void aCorruptOrIncompleteCheckpointFailsButTemporaryDirectoriesAreOnlyListed() throws IOException {
        Files.createDirectories(run.resolve(CheckpointDir.stepDirName(6) + CheckpointDir.TMP_INFIX + "1a2b"));
        SoakVerifier.Verdict ok = SoakVerifier.verify(reference, run, STEPS);
        assertTrue(ok.ok(), ok.failed().toString());
        assertEquals(List.of("step-00000006.tmp-1a2b"), ok.leftoverTemporaryDirectories());

        Path s4 = run.resolve(CheckpointDir.stepDirName(4));
        flipLastByte(s4.resolve(CheckpointDir.MODEL_SAFETENSORS));
        SoakVerifier.Verdict bad = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("checkpoints_complete"), failedNames(bad));
        assertTrue(detail(bad, "checkpoints_complete").contains("step-00000004") && detail(bad, "checkpoints_complete").contains("CRC32C"),
                detail(bad, "checkpoints_complete"));

        writeRun(run);
        Files.createDirectories(run.resolve(CheckpointDir.stepDirName(5)));   // a name a resume would take, without files
        SoakVerifier.Verdict half = SoakVerifier.verify(reference, run, STEPS);
        assertEquals(List.of("checkpoints_complete"), failedNames(half));
        assertTrue(detail(half, "checkpoints_complete").contains("step-00000005 lacks"), detail(half, "checkpoints_complete"));
    }

    private static List<String> failedNames(SoakVerifier.Verdict v) {
        return v.failed().stream().map(SoakVerifier.Check::name).toList();
    }

    private static String detail(SoakVerifier.Verdict v, String name) {
        return v.checks().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow().detail();
    }

    private static void flipLastByte(Path f) throws IOException {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.seek(r.length() - 1);
            int b = r.read();
            r.seek(r.length() - 1);
            r.write(b ^ 0x10);
        }
    }

    private void editCursor(long step, int rank, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path dir = run.resolve(CheckpointDir.stepDirName(step)), state = dir.resolve(CheckpointDir.TRAINER_STATE_JSON);
        ObjectNode st = (ObjectNode) JSON.readTree(state.toFile());
        edit.accept((ObjectNode) st.get("train_cursors").get(rank));
        Files.writeString(state, st.toString());
        CheckpointManifest.write(dir);
    }

    private void rewriteMetrics(java.util.function.Function<List<String>, List<String>> f) throws IOException {
        Path m = run.resolve("metrics.jsonl");
        Files.write(m, f.apply(Files.readAllLines(m)));
    }

    /** A run of 2 workers x batch 2 with checkpoints at steps 4 and 6: the same bytes every time it is written. */
    private static void writeRun(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(5);
        StringBuilder metrics = new StringBuilder();
        for (long s = 1; s <= STEPS; s++) metrics.append("{\"kind\":\"train\",\"step\":").append(s).append(",\"loss\":").append(10 - s * 0.3 + r.nextDouble() * 1e-3).append("}\n");
        Files.writeString(dir.resolve("metrics.jsonl"), metrics);
        for (long step : new long[]{4, 6}) {
            Path c = Files.createDirectories(dir.resolve(CheckpointDir.stepDirName(step)));
            Files.writeString(c.resolve(CheckpointDir.CONFIG_JSON), "{\"hidden_size\":8}");
            Safetensors.write(c.resolve(CheckpointDir.MODEL_SAFETENSORS), tensors(r, "w"), Map.of("format", "pt"));
            Safetensors.write(c.resolve(CheckpointDir.OPTIMIZER_SAFETENSORS), tensors(r, "m"), Map.of());
            ObjectNode st = JSON.createObjectNode();
            st.put("step", step).put("initial_loss", 10.0).put("lr_multiplier", 0.5).put("skipped_steps", 0).put("consecutive_skipped_steps", 0);
            st.putObject("run_config").putObject("train").put("batch_size", 2).put("grad_accum", 1);
            ArrayNode cursors = st.putArray("train_cursors");
            for (int rank = 0; rank < 2; rank++) {
                cursors.addObject().put("fileIndex", 0).put("offset", 17 * 2 * step + rank * 17).put("epoch", 0)
                        .put("sequencesServed", 2 * step).put("rank", rank).put("worldSize", 2);
            }
            Files.writeString(c.resolve(CheckpointDir.TRAINER_STATE_JSON), st.toString());
            CheckpointManifest.write(c);
        }
    }

    private static LinkedHashMap<String, HostTensor> tensors(SplittableRandom r, String prefix) {
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>();
        for (String name : new String[]{"down", "norm", "up"}) {
            float[] v = new float[12];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
            t.put(prefix + "." + name, HostTensor.f32(new long[]{3, 4}, v));
        }
        return t;
    }
}
