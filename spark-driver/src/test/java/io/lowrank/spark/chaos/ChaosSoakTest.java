package io.lowrank.spark.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The short chaos soak (bin/chaos-soak's orchestrator, in this JVM): a local-cluster[2,1,1024] run
 * of 15 steps in chunks of 5 whose executor JVMs are SIGKILLed twice, 15-25 s apart, and whose driver is
 * SIGKILLed once with its executors and resumed with {@code train --resume}, against an
 * uninterrupted run of the same steps: weights and optimizer bytes equal, cursors equal, every step
 * logged with the same loss, every checkpoint complete. Real processes, real kills.
 */
class ChaosSoakTest {
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void executorKillsAndADriverKillLoseAndRepeatNothing(@TempDir Path tmp) throws Exception {
        String sparkHome = System.getenv("SPARK_HOME");
        assertTrue(sparkHome != null, "surefire sets SPARK_HOME");
        Files.createDirectories(Path.of(sparkHome, "jars"));
        Path home = Path.of(System.getProperty("user.dir")).getParent();
        Path soak = tmp.resolve("soak");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int code;
        try {
            code = ChaosSoak.run(out, "--home", home.toString(), "--run-dir", soak.toString(), "--steps", "15", "--chunk-steps", "5",
                    "--workers", "2", "--batch", "2", "--seed", "7", "--kill-every-s", "15..25", "--max-executor-kills", "2", "--driver-kill-at", "0.3..0.5",
                    "--corpus-docs", "300", "--set", "model.hidden_size=32", "--set", "model.intermediate_size=64",
                    "--set", "model.num_attention_heads=4", "--set", "model.num_hidden_layers=2", "--set", "model.rank=8",
                    "--set", "train.seq_len=16", "--set", "train.warmup_steps=1", "--set", "train.eval_batches=2");
        } finally {
            System.out.print(buf.toString(StandardCharsets.UTF_8));
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        JsonNode summary = new ObjectMapper().readTree(soak.resolve("summary.json").toFile());
        assertTrue(summary.get("ok").asBoolean(), summary.toString());
        assertTrue(summary.get("executor_kills").asInt() >= 1, summary.toString());
        assertEquals(1, summary.get("driver_kills").asInt(), summary.toString());
        // the kill log has a line per kill, each with the step rank 0 had reached
        assertEquals(summary.get("executor_kills").asInt() + 1, Files.readAllLines(soak.resolve("logs/kills.jsonl")).size());
        for (JsonNode c : summary.get("checks")) assertTrue(c.get("ok").asBoolean(), c.toString());
        JsonNode bitwise = null;
        for (JsonNode c : summary.get("checks")) if (c.get("name").asText().equals("final_weights_bitwise")) bitwise = c;
        assertTrue(bitwise != null && bitwise.get("detail").asText().contains("equal byte for byte"), summary.toString());
        assertTrue(Files.readString(soak.resolve("logs/driver-2.log")).contains("resuming"), "the second driver resumed the run");
        assertTrue(text.contains("chaos-soak: PASS"), text);
    }
}
