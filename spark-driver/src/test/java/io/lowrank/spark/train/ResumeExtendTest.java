package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkTrainCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.lowrank.spark.train.SparkTrainLocalTest.records;
import static io.lowrank.spark.train.SparkTrainLocalTest.args;
import static io.lowrank.spark.train.SparkTrainLocalTest.capture;
import static io.lowrank.spark.train.SparkTrainLocalTest.corpus;
import static io.lowrank.spark.train.SparkTrainLocalTest.lastJson;
import static io.lowrank.spark.train.SparkTrainLocalTest.trainLosses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train --resume RUN_DIR} of a finished run says so and exits 0 with the run's numbers (no
 * NaN); {@code --steps N} extends it: the cosine keeps its end (train.decay_steps = the old steps)
 * and the added steps run at lr x min_lr_ratio. The extended run's losses are those of a run
 * configured with that schedule from the start (the loss sequence continues, nothing restarts).
 */
class ResumeExtendTest {
    private static String[] train(Path corpus, Path runDir, int steps, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--preset", "tiny", "--layer", "cola", "--master", "local[1]", "--workers", "1",
                "--steps", Integer.toString(steps), "--chunk-steps", "2", "--batch", "2", "--corpus", corpus.toString(),
                "--run-dir", runDir.toString()));
        a.addAll(List.of(more));
        return args(a.toArray(new String[0]));
    }

    @Test
    void finishedRunSaysSoAndMoreStepsContinueAtTheFinalLearningRate(@TempDir Path tmp) throws Exception {
        Path corpus = corpus(tmp), ref = tmp.resolve("ref"), ext = tmp.resolve("ext");
        capture(() -> assertEquals(0, SparkTrainCommand.run(train(corpus, ref, 6, "--set", "train.decay_steps=4"))));
        capture(() -> assertEquals(0, SparkTrainCommand.run(train(corpus, ext, 4))));
        List<Double> first = trainLosses(ext);

        String done = capture(() -> assertEquals(0, SparkTrainCommand.run(new String[]{"train", "--resume", ext.toString()})));
        assertTrue(done.contains("is finished: it trained 4 of 4 steps, nothing to do"), done);
        assertFalse(done.contains("NaN"), done);
        JsonNode d = lastJson(done);
        assertTrue(d.get("finished").asBoolean());
        assertEquals(0, d.get("steps_run").asInt());
        assertEquals((first.get(2) + first.get(3)) / 2, d.get("final_loss").asDouble(), 1e-12, d.toString());
        assertEquals(first.get(3), d.get("last_step_loss").asDouble(), 1e-12);
        assertTrue(Double.isFinite(d.get("val_loss").asDouble()), d.toString());

        String more = capture(() -> assertEquals(0, SparkTrainCommand.run(new String[]{"train", "--resume", ext.toString(),
                "--steps", "6", "--master", "local[1]"})));
        assertTrue(more.contains("extending the run from 4 to 6 steps: the cosine still ends at step 4; steps 5-6 run at its final "
                + "learning rate 3.00e-04"), more);
        JsonNode r = lastJson(more);
        assertEquals(6, r.get("steps").asLong());
        JsonNode runJson = new ObjectMapper().readTree(ext.resolve("run.json").toFile()).get("run_config").get("train");
        assertEquals(6, runJson.get("steps").asLong());
        assertEquals(4, runJson.get("decay_steps").asLong());

        List<Double> lossExt = trainLosses(ext), lossRef = trainLosses(ref), lrExt = lrs(ext), lrRef = lrs(ref);
        assertEquals(6, lossExt.size());
        assertEquals(first, lossExt.subList(0, 4), "the first 4 steps' log is kept");
        for (int i = 0; i < 6; i++) {
            assertEquals(lrRef.get(i), lrExt.get(i), 0.0, "lr of step " + (i + 1));
            assertEquals(lossRef.get(i), lossExt.get(i), 1e-9 * lossRef.get(i), "loss of step " + (i + 1));
        }
        assertEquals(3e-4, lrExt.get(4), 1e-15);
        assertEquals(3e-4, lrExt.get(5), 1e-15);
        assertTrue(lrExt.get(3) >= lrExt.get(4), "no jump up: " + lrExt);
    }

    private static List<Double> lrs(Path runDir) throws Exception {
        return records(runDir, "train").stream().map(n -> n.get("lr").asDouble()).toList();
    }
}
