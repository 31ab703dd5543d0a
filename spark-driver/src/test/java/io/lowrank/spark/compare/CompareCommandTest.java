package io.lowrank.spark.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.SparkMain;
import io.lowrank.spark.report.RunMetrics;
import io.lowrank.spark.train.SparkTrainLocalTest;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code compare} on a shrunken tiny preset, a few steps per family: the report is written, the
 * numbers are finite and consistent (perplexity = exp(loss), FLOPs = tokens x FLOPs/token, a
 * low-rank family cheaper per token than full rank), a family's held-out losses equal those of the
 * same family trained alone with {@code train}, and a rerun with one more family continues the
 * comparison instead of retraining the finished ones.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
public class CompareCommandTest {
    static final String[] SMALL = {"--set", "model.hidden_size=32", "--set", "model.intermediate_size=64",
            "--set", "model.num_attention_heads=4", "--set", "model.num_hidden_layers=2", "--set", "model.rank=8",
            "--set", "train.seq_len=16", "--set", "train.batch_size=2", "--set", "train.eval_batches=2"};

    static String run(String... argv) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        int rc;
        try {
            rc = SparkMain.run(argv);
        } finally {
            System.setOut(saved);
        }
        String s = buf.toString();
        saved.print(s);
        assertEquals(0, rc, s);
        return s;
    }

    static JsonNode lastJson(String out) throws Exception {
        String[] lines = out.trim().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    static List<String> args(String... head) {
        List<String> a = new ArrayList<>(List.of(head));
        a.addAll(List.of(SMALL));
        return a;
    }

    @Test
    void comparesFamiliesOnOneDatasetAndContinuesWhereItStopped(@TempDir Path tmp) throws Exception {
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        Path dir = tmp.resolve("cmp");
        // 8 steps of 2 x 16 tokens = 256 tokens per family, held-out loss every 4 steps (128 tokens)
        List<String> first = args("compare", "--preset", "tiny", "--layers", "full", "--tokens", "256", "--eval-tokens", "128",
                "--corpus", corpus.toString(), "--master", "local[1]", "--run-dir", dir.toString());
        run(first.toArray(new String[0]));
        List<String> both = args("compare", "--preset", "tiny", "--layers", "full,cola", "--tokens", "256", "--eval-tokens", "128",
                "--corpus", corpus.toString(), "--master", "local[1]", "--run-dir", dir.toString());
        String out = run(both.toArray(new String[0]));
        assertTrue(out.contains("compare: full finished before"), "the finished family is read, not retrained");

        JsonNode res = lastJson(out);
        JsonNode full = res.get("families").get(0), cola = res.get("families").get(1);
        assertEquals("full", full.get("layer").asText());
        assertEquals("cola", cola.get("layer").asText());
        for (JsonNode f : res.get("families")) {
            assertEquals(8, f.get("steps").asLong(), f.toString());
            assertEquals(256, f.get("tokens").asLong(), f.toString());
            double loss = f.get("final_val_loss").asDouble();
            assertTrue(Double.isFinite(loss) && loss > 0 && loss < 12, f.toString());
            assertEquals(Math.exp(loss), f.get("perplexity").asDouble(), 1e-9 * Math.exp(loss));
            assertEquals(256 * f.get("flops_per_token").asDouble(), f.get("training_flops").asDouble(), 1e-6 * f.get("training_flops").asDouble());
            assertTrue(f.get("parameters").asLong() > f.get("non_embedding_parameters").asLong());
            assertTrue(f.get("tokens_per_s").asDouble() > 0, f.toString());
        }
        assertTrue(cola.get("flops_per_token").asDouble() < full.get("flops_per_token").asDouble(), res.toString());
        assertTrue(cola.get("non_embedding_parameters").asLong() < full.get("non_embedding_parameters").asLong(), res.toString());
        assertEquals(0.0, full.get("perplexity_vs_full").asDouble(), 0.0);
        assertEquals(1.0, full.get("flops_vs_full").asDouble(), 0.0);

        String html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.contains("id=\"chart-val-tokens\"") && html.contains("id=\"chart-val-flops\""), "charts in the report");
        assertTrue(Files.size(dir.resolve("loss.png")) > 1000);

        // the same family trained alone with train, on the comparison's dataset and schedule, gives the same held-out losses
        String data = lastJson(out).get("data").asText();
        Path alone = tmp.resolve("alone");
        List<String> train = args("train", "--preset", "tiny", "--layer", "cola", "--data", data, "--steps", "8", "--chunk-steps", "4",
                "--master", "local[1]", "--run-dir", alone.toString(), "--set", "train.warmup_steps=" + CompareCommand.scaled(30, 400, 8));
        run(train.toArray(new String[0]));
        RunMetrics a = RunMetrics.read(alone.toString(), new Configuration()), c = RunMetrics.read(dir.resolve("cola").toString(), new Configuration());
        assertEquals(2, c.evals.size());
        assertEquals(c.evals.size(), a.evals.size());
        for (int i = 0; i < c.evals.size(); i++) {
            assertEquals(a.evals.get(i).step(), c.evals.get(i).step());
            assertEquals(a.evals.get(i).valLoss(), c.evals.get(i).valLoss(), 1e-9, "held-out loss " + i);
        }
        assertEquals(a.lastValLoss(), cola.get("final_val_loss").asDouble(), 1e-9);
    }
}
