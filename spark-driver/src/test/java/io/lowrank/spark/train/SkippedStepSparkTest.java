package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.spark.cli.SparkTrainCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.lowrank.spark.train.SparkTrainLocalTest.records;
import static io.lowrank.spark.train.SparkTrainLocalTest.args;
import static io.lowrank.spark.train.SparkTrainLocalTest.capture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A NaN in one worker's gradient in a Spark run (local[2], real Aeron ring, --fail-kind nonfinite):
 * every worker skips that step, the run goes on and reports it; with train.max_skipped_steps=1 the
 * same NaN stops the run at once, logged, without chunk retries.
 */
class SkippedStepSparkTest {
    @Test
    void aNanOnOneWorkerIsSkippedEverywhereAndTooManyStopTheRunWithoutRetries(@TempDir Path tmp) throws Exception {
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        Path run = tmp.resolve("run");
        String out = capture(() -> assertEquals(0, SparkTrainCommand.run(args("train", "--preset", "tiny", "--layer", "cola",
                "--master", "local[2]", "--workers", "2", "--threads", "1", "--steps", "4", "--chunk-steps", "2", "--batch", "2",
                "--fail-at-step", "2", "--fail-rank", "1", "--fail-kind", "nonfinite",
                "--corpus", corpus.toString(), "--run-dir", run.toString()))));
        JsonNode result = SparkTrainLocalTest.lastJson(out);
        assertEquals(1, result.get("skipped_steps").asLong(), result.toString());
        assertEquals(4, result.get("steps").asLong());
        assertEquals(0, result.get("chunk_retries").asInt());
        List<JsonNode> train = records(run, "train");
        assertEquals(4, train.size());
        for (JsonNode n : train) assertEquals(n.get("step").asInt() == 3, n.path("skipped").asBoolean(false), n.toString());
        assertFalse(Double.isFinite(train.get(2).get("grad_norm").asDouble()), "the skipped step's norm is logged as it was");
        assertEquals(1, records(run, "chunk").get(1).get("skipped_steps").asInt());

        Path stop = tmp.resolve("stop");
        List<String> a = new ArrayList<>(List.of(args("train", "--preset", "tiny", "--layer", "cola",
                "--master", "local[2]", "--workers", "2", "--threads", "1", "--steps", "4", "--chunk-steps", "2", "--batch", "2",
                "--fail-at-step", "2", "--fail-rank", "0", "--fail-kind", "nonfinite",
                "--corpus", corpus.toString(), "--run-dir", stop.toString())));
        a.addAll(List.of("--set", "train.max_skipped_steps=1"));
        assertEquals(1, SparkTrainCommand.run(a.toArray(new String[0])));
        List<JsonNode> stopped = records(stop, "stopped");
        assertEquals(1, stopped.size());
        assertEquals(2, stopped.get(0).get("step").asLong(), "the steps done before the stop: 2");
        assertTrue(stopped.get(0).get("reason").asText().contains("stopped at step 3")
                && stopped.get(0).get("reason").asText().contains("model.embed_tokens.weight"), stopped.get(0).toString());
        assertEquals(2, records(stop, "train").size());
        assertTrue(Files.isDirectory(stop.resolve("step-00000002")) && !Files.exists(stop.resolve("step-00000004")));
    }
}
