package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkTrainCommand;
import io.lowrank.worker.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark job end to end on {@code local[2]}: two barrier tasks train together over a real Aeron
 * ring, chunk by chunk through checkpoints on the run's file system, and produce the loss sequence
 * of one single-process worker with their combined batch (same data, same init).
 */
public class SparkTrainLocalTest {
    static final String[] MODEL = {"--set", "model.hidden_size=32", "--set", "model.intermediate_size=64",
            "--set", "model.num_attention_heads=4", "--set", "model.num_hidden_layers=2", "--set", "model.rank=8",
            "--set", "train.seq_len=16", "--set", "train.lr=0.003", "--set", "train.warmup_steps=1",
            "--set", "train.eval_batches=2", "--set", "train.bucket_mb=0.5", "--set", "train.log_every=1"};

    public static Path corpus(Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        String[] words = {"the", "model", "learns", "low", "rank", "spark", "ring", "token", "layer", "gradient", "shard", "data"};
        StringBuilder sb = new StringBuilder();
        for (int doc = 0; doc < 120; doc++) {
            for (int w = 0; w < 60; w++) sb.append(words[r.nextInt(words.length)]).append(w % 9 == 8 ? ". " : " ");
            sb.append("\n\n");
        }
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, sb);
        return f;
    }

    /** The records of one kind ("train", "chunk", "elastic", ...) of a run's metrics.jsonl, in order. */
    static List<JsonNode> records(Path runDir, String kind) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        ObjectMapper m = new ObjectMapper();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode n = m.readTree(line);
            if (n.get("kind").asText().equals(kind)) out.add(n);
        }
        return out;
    }

    static List<Double> trainLosses(Path runDir) throws Exception {
        return records(runDir, "train").stream().map(n -> n.get("loss").asDouble()).toList();
    }

    static List<JsonNode> chunkLines(Path runDir) throws Exception {
        return records(runDir, "chunk");
    }

    static JsonNode lastJson(String stdout) throws Exception {
        String[] lines = stdout.trim().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    static String capture(ThrowingRunnable r) throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            r.run();
        } finally {
            System.setOut(saved);
        }
        String s = buf.toString();
        saved.print(s);
        return s;
    }

    interface ThrowingRunnable { void run() throws Exception; }

    static String[] args(String... head) {
        List<String> a = new ArrayList<>(List.of(head));
        a.addAll(List.of(MODEL));
        return a.toArray(new String[0]);
    }

    @Test
    void twoWorkersOnLocal2MatchOneProcessWithTheCombinedBatch(@TempDir Path tmp) throws Exception {
        Path corpus = corpus(tmp);
        Path dist = tmp.resolve("dist"), single = tmp.resolve("single");
        int driversBefore = ExecutorMediaDriver.launches();
        String distOut = capture(() -> assertEquals(0, SparkTrainCommand.run(args("train", "--preset", "tiny", "--layer", "cola",
                "--master", "local[2]", "--workers", "2", "--steps", "6", "--chunk-steps", "3", "--batch", "2",
                "--keep-checkpoints", "1", "--corpus", corpus.toString(), "--run-dir", dist.toString()))));
        // the single process reads the dataset the Spark run prepared (run.json names it)
        String dataset = new ObjectMapper().readTree(dist.resolve("run.json").toFile()).get("data").asText();
        String singleOut = capture(() -> assertEquals(0, Main.run(args("train", "--preset", "tiny", "--layer", "cola", "--steps", "6",
                "--batch", "4", "--threads", "1", "--tokens", Path.of(java.net.URI.create(dataset)).toString(),
                "--run-dir", single.toString()))));

        JsonNode r = lastJson(distOut);
        assertEquals(2, r.get("workers").asInt());
        assertEquals(6, r.get("steps").asLong());
        assertEquals(2, r.get("chunks").asInt());
        assertTrue(r.get("app_id").asText().startsWith("local-"), r.toString());
        // --keep-checkpoints 1: chunk 1's checkpoint replaced chunk 0's
        assertTrue(Files.isDirectory(dist.resolve("step-00000006")) && !Files.exists(dist.resolve("step-00000003")));

        List<Double> d = trainLosses(dist), s = trainLosses(single);
        assertEquals(6, d.size());
        assertEquals(6, s.size());
        for (int i = 0; i < 6; i++) {
            double rel = Math.abs(d.get(i) - s.get(i)) / s.get(i);
            // float32 summation order only (see DataParallelEquivalenceTest); a wrong data split is ~1e-2 off
            assertTrue(rel < 3e-6, "step " + (i + 1) + ": 2 workers " + d.get(i) + " vs 1 process " + s.get(i) + " (rel " + rel + ")");
        }
        // final_loss: the mean over workers (metrics.jsonl's losses) and over the last chunk's steps 4-6;
        // last_step_loss: step 6 alone; the chunk line says what it averages
        assertEquals((d.get(3) + d.get(4) + d.get(5)) / 3, r.get("final_loss").asDouble(), 1e-12, r.toString());
        assertEquals(3, r.get("final_loss_steps").asInt());
        assertEquals(d.get(5), r.get("last_step_loss").asDouble(), 1e-12);
        assertTrue(distOut.contains("chunk 1: steps 4-6/6  loss " + String.format("%.4f", r.get("final_loss").asDouble())
                + " (mean of 2 workers x 3 steps; last step " + String.format("%.4f", d.get(5)) + ")"), distOut);
        // one process: final_loss is the mean of its last progress window (train.log_every steps)
        JsonNode one = lastJson(singleOut);
        int k = one.get("final_loss_steps").asInt();
        assertTrue(k >= 1 && k <= 6, one.toString());
        assertEquals(s.subList(6 - k, 6).stream().mapToDouble(Double::doubleValue).average().orElseThrow(),
                one.get("final_loss").asDouble(), 1e-12, one.toString());
        assertEquals(s.get(5), one.get("last_step_loss").asDouble(), 1e-12);
        assertTrue(r.get("allreduce_bytes").asLong() > 0);
        // both workers of both chunks joined their rings through the executor's one media driver
        assertEquals(1, ExecutorMediaDriver.launches() - driversBefore);
        // chunk 1 continued both trainers the executor kept from chunk 0 (no checkpoint reload), and
        // the losses above still match the single process step for step
        List<JsonNode> chunks = chunkLines(dist);
        assertEquals(2, chunks.size());
        assertEquals(0, chunks.get(0).get("workers_reused").asInt(), chunks.get(0).toString());
        assertEquals(2, chunks.get(1).get("workers_reused").asInt(), chunks.get(1).toString());
        // the finished run's local dataset copies are gone from the executor's temp space
        String runId = new ObjectMapper().readTree(dist.resolve("run.json").toFile()).get("run_id").asText();
        assertFalse(Files.exists(Path.of(System.getProperty("java.io.tmpdir"), "lowrank-cache", runId)), "dataset cache of run " + runId);
        assertTrue(Double.isFinite(r.get("val_loss").asDouble()));
        // each step line carries its own end time and rank 0's exposed all-reduce wait; the report was
        // rewritten after the last chunk (ReportBrowserTest checks what it draws)
        ObjectMapper om = new ObjectMapper();
        double prev = 0;
        for (String line : Files.readAllLines(dist.resolve("metrics.jsonl"))) {
            JsonNode n = om.readTree(line);
            if (!n.get("kind").asText().equals("train")) continue;
            assertTrue(n.get("time").asDouble() >= prev, line);
            prev = n.get("time").asDouble();
            assertTrue(n.get("allreduce_exposed_ms").asDouble() >= 0, line);
        }
        assertTrue(Files.size(dist.resolve("report.html")) > 10_000 && Files.size(dist.resolve("loss.png")) > 1_000);
        assertTrue(Files.readString(dist.resolve("report.html")).contains("id=\"chart-allreduce\""));
    }
}
