package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.train.RunConfig;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench --sgemm-size: the peak is the best of what the probe timed (a square product and the
 * step's own shapes), each engine's figures say which engine, ISA and thread count ran them, and the
 * step's fraction is of its own engine's peak.
 */
class SgemmProbeTest {
    @Test
    void shapesAreTheSquareAndTheStepsProducts() throws Exception {
        ModelConfig c = RunConfig.load("tiny", "cola").model(32000);
        List<SgemmProbe.Shape> s = SgemmProbe.shapes(64, List.of(c), 32);
        assertEquals("square 64", s.get(0).name());
        assertTrue(s.stream().anyMatch(x -> x.m() == 32 && x.k() == c.hiddenSize && x.n() == c.vocabSize), "the LM head: " + s);
        assertTrue(s.stream().anyMatch(x -> x.transA() && x.k() == 32), "a weight gradient: " + s);
        assertTrue(s.stream().anyMatch(x -> x.n() == c.rank), "a low-rank factor: " + s);
    }

    @Test
    void benchReportsEngineIsaAndAPeakThatIsTheMaxOfItsFigures() throws Exception {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = Main.run("bench", "--preset", "tiny", "--layer", "cola", "--seq-len", "16", "--batch", "2", "--steps", "2",
                    "--warmup", "1", "--threads", "2", "--sgemm-size", "96");
        } finally {
            System.setOut(oldOut);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String[] lines = text.trim().split("\n");
        JsonNode j = new ObjectMapper().readTree(lines[lines.length - 1]);
        String engine = j.get("gemm").asText();
        JsonNode probe = j.get("sgemm_probe").get(engine);
        assertEquals(engine, probe.get("engine").asText());
        assertFalse(probe.get("isa").asText().isBlank(), probe.toString());
        assertTrue(probe.get("isa").asText().matches(".*(avx512|avx2|scalar|neither).*"), probe.toString());
        assertEquals(j.get("gemm_isa").asText(), probe.get("isa").asText());
        assertEquals(2, probe.get("threads").asInt());
        double max = 0;
        for (JsonNode f : probe.get("shapes")) {
            assertTrue(f.get("gflops_best").asDouble() >= f.get("gflops_median").asDouble(), f.toString());
            max = Math.max(max, f.get("gflops_best").asDouble());
        }
        assertTrue(probe.get("shapes").size() >= 6, probe.toString());
        assertTrue(max > 0);
        assertEquals(max, probe.get("peak_gflops").asDouble(), 0.0);
        assertEquals(max, j.get("sgemm_peak_gflops_" + engine).asDouble(), 0.0);
        assertEquals(j.get("gflops_per_s").asDouble() / max, j.get("fraction_of_sgemm_peak").asDouble(), 1e-12);
        assertTrue(text.contains("before the steps: sgemm peak " + engine) && text.contains("after the steps: sgemm peak " + engine), text);
    }
}
