package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** bench --suite generate on the tiny preset: every family reports its own figures, ratios against full, no allocation per round. */
class GenerateBenchTest {
    @Test
    void familiesSideBySide() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ObjectNode r = GenerateBench.run(new GenerateBench.Options("tiny", List.of("full", "cola", "crnet", "elas"), 2, 16, 4, 2, 1, 2),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        JsonNode res = r.get("results");
        assertEquals(4, res.size());
        long fullParams = res.get(0).get("parameters").asLong();
        for (JsonNode j : res) {
            String layer = j.get("layer").asText();
            assertEquals(j.get("parameters").asLong() * 4, j.get("model_bytes").asLong(), layer);
            assertTrue(j.get("peak_bytes").asLong() >= j.get("model_bytes").asLong() + j.get("kv_cache_bytes").asLong(), layer);
            assertEquals(0, j.get("allocations_in_timed_rounds").asLong(), layer + ": a generation allocated tensors");
            assertTrue(j.get("prefill_tokens_per_s").asDouble() > 0 && j.get("decode_tokens_per_s").asDouble() > 0, layer);
            // kv cache: 2 (k, v) x layers 2 x positions (16 + 4 - 1) x batch 2 x d 128 x 4 bytes
            assertEquals(2L * 2 * 19 * 2 * 128 * 4, j.get("kv_cache_bytes").asLong(), layer);
            if (!layer.equals("full")) {
                assertTrue(j.get("parameters").asLong() < fullParams, layer + " has fewer parameters than full");
                assertEquals((double) fullParams / j.get("parameters").asLong(), j.get("model_bytes_ratio_full_over_this").asDouble(), 1e-12);
                assertTrue(j.has("decode_speedup_vs_full") && j.has("prefill_speedup_vs_full"), layer);
            }
        }
        String text = out.toString(StandardCharsets.UTF_8);
        for (String layer : List.of("full", "cola", "crnet", "elas")) assertTrue(text.contains(layer + " "), text);
    }

    @Test
    void positionsBeyondTheModelAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerateBench.run(
                new GenerateBench.Options("tiny", List.of("cola"), 1, 1020, 8, 1, 0, 1), new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("max_position_embeddings 1024"), e.getMessage());
    }
}
