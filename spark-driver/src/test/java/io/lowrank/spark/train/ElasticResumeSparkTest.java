package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkTrainCommand;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.HostTensor;
import io.lowrank.worker.checkpoint.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.lowrank.spark.train.SparkTrainLocalTest.records;
import static io.lowrank.spark.train.SparkTrainLocalTest.args;
import static io.lowrank.spark.train.SparkTrainLocalTest.capture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train --resume RUN_DIR --workers 3} on a run of 2 workers, end to end on local[3] over a
 * real Aeron ring, through a corrupted newest checkpoint: the resume skips the checkpoint that
 * fails its checksums (warning naming the file), continues from the previous one on 3 workers with
 * the same global batch and the data cursors re-sharded, and redoes the lost steps with the losses
 * and weights of the uninterrupted 2-worker run (DataParallelEquivalenceTest's tolerances: the runs
 * differ in float32 summation order only) and exactly its sequences.
 */
class ElasticResumeSparkTest {
    private static final double LOSS_TOLERANCE = 3e-7, WEIGHT_TOLERANCE = 5e-6;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void twoWorkersThenThreeThroughACorruptCheckpointTrainLikeTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        Path run = tmp.resolve("run");
        capture(() -> assertEquals(0, SparkTrainCommand.run(args("train", "--preset", "tiny", "--layer", "cola",
                "--master", "local[3]", "--workers", "2", "--threads", "1", "--steps", "6", "--chunk-steps", "2", "--batch", "3",
                "--keep-checkpoints", "0", "--corpus", corpus.toString(), "--run-dir", run.toString()))));
        List<JsonNode> uninterrupted = records(run, "train");
        assertEquals(6, uninterrupted.size());
        Path s4 = run.resolve(CheckpointDir.stepDirName(4)), s6 = run.resolve(CheckpointDir.stepDirName(6));
        Map<String, HostTensor> weights6 = Safetensors.read(s6.resolve(CheckpointDir.MODEL_SAFETENSORS));
        JsonNode state6 = JSON.readTree(s6.resolve(CheckpointDir.TRAINER_STATE_JSON).toFile());

        // a bit of the newest checkpoint's weights flips on the storage
        Path bad = s6.resolve(CheckpointDir.MODEL_SAFETENSORS);
        try (RandomAccessFile f = new RandomAccessFile(bad.toFile(), "rw")) {
            f.seek(f.length() - 5);
            int b = f.read();
            f.seek(f.length() - 5);
            f.write(b ^ 0x01);
        }
        // a global batch of 6 cannot be split over 4 workers: refused before anything runs
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream savedErr = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        int refusedCode;
        try {
            refusedCode = SparkTrainCommand.run(new String[]{"train", "--resume", run.toString(), "--master", "local[4]", "--workers", "4", "--threads", "1"});
        } finally {
            System.setErr(savedErr);
        }
        assertEquals(2, refusedCode, err.toString());
        assertTrue(err.toString().contains("global batch of 6") && err.toString().contains("4 workers"), err.toString());

        String out = capture(() -> assertEquals(0, SparkTrainCommand.run(new String[]{"train", "--resume", run.toString(),
                "--master", "local[3]", "--workers", "3", "--threads", "1", "--keep-checkpoints", "0"})));
        assertTrue(out.contains("WARNING: skipping checkpoint") && out.contains(CheckpointDir.stepDirName(6)) && out.contains(CheckpointDir.MODEL_SAFETENSORS),
                "the corrupt checkpoint is named: " + out);
        assertTrue(out.contains("resuming") && out.contains(CheckpointDir.stepDirName(4)), out);
        assertTrue(out.contains("2 workers x micro-batch 3 x accumulation 1 -> 3 x 2 x 1"), out);
        assertEquals(3, SparkTrainLocalTest.lastJson(out).get("workers").asInt());
        JsonNode runJson = JSON.readTree(run.resolve("run.json").toFile());
        assertEquals(3, runJson.get("workers").asInt());
        assertEquals(2, runJson.get("run_config").get("train").get("batch_size").asInt());

        // the redone steps 5-6 (logged after the first run's 1-6) match the uninterrupted run's
        List<JsonNode> all = records(run, "train");
        assertEquals(8, all.size(), "steps 1-6, then 5-6 redone on 3 workers");
        for (int i = 0; i < 2; i++) {
            JsonNode redone = all.get(6 + i), ref = uninterrupted.get(4 + i);
            assertEquals(ref.get("step").asLong(), redone.get("step").asLong());
            double rel = Math.abs(redone.get("loss").asDouble() - ref.get("loss").asDouble()) / ref.get("loss").asDouble();
            assertTrue(rel < LOSS_TOLERANCE, "step " + ref.get("step") + ": 3 workers " + redone.get("loss") + " vs 2 workers " + ref.get("loss") + " (rel " + rel + ")");
        }
        Map<String, HostTensor> redone6 = Safetensors.read(s6.resolve(CheckpointDir.MODEL_SAFETENSORS));
        double num = 0, den = 0;
        for (Map.Entry<String, HostTensor> e : weights6.entrySet()) {
            float[] a = e.getValue().toFloatArray(), b = redone6.get(e.getKey()).toFloatArray();
            for (int i = 0; i < a.length; i++) {
                num += (double) (b[i] - a[i]) * (b[i] - a[i]);
                den += (double) a[i] * a[i];
            }
        }
        assertTrue(Math.sqrt(num / den) < WEIGHT_TOLERANCE, "weights at step 6: rel diff " + Math.sqrt(num / den));

        // every sequence exactly once: the 3 new cursors together served what the 2 old ones did, up to the same window
        JsonNode state6b = JSON.readTree(s6.resolve(CheckpointDir.TRAINER_STATE_JSON).toFile());
        assertEquals(3, state6b.get("train_cursors").size());
        assertEquals(served(state6), served(state6b));
        assertEquals(6 * 6, served(state6b));
        assertEquals(maxWindow(state6), maxWindow(state6b));
        assertTrue(Files.isDirectory(s4));
    }

    private static long served(JsonNode st) {
        long n = 0;
        for (JsonNode c : st.get("train_cursors")) n += c.get("sequencesServed").asLong();
        return n;
    }

    private static long maxWindow(JsonNode st) {
        long n = 0;
        for (JsonNode c : st.get("train_cursors")) n = Math.max(n, c.get("windowInEpoch").asLong());
        return n;
    }
}
