package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.nativekernels.NativeLibrary;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code bench --gemm both} on the tiny preset: both engines run in one process under their own
 * keys, each result names its engine, each engine's sgemm peak is measured and each fraction is of
 * its own engine's peak; a bad --gemm value is a usage error (exit 2) naming the option.
 */
class BenchCommandTest {
    private static final class Run {
        final int code;
        final String out, err;
        Run(int code, String out, String err) { this.code = code; this.out = out; this.err = err; }
        JsonNode lastJson() throws Exception {
            String[] lines = out.trim().split("\n");
            return new ObjectMapper().readTree(lines[lines.length - 1]);
        }
    }

    private static Run run(String... argv) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(argv);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void gemmBothRunsEachEngineUnderItsOwnKey() throws Exception {
        assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
        Run r = run("bench", "--preset", "tiny", "--layer", "cola", "--seq-len", "16", "--batch", "2", "--steps", "2",
                "--warmup", "1", "--threads", "2", "--gemm", "both", "--sgemm-size", "128");
        assertEquals(0, r.code, r.err);
        JsonNode j = r.lastJson();
        JsonNode ob = j.get("results").get("cola+openblas"), nat = j.get("results").get("cola+native-gemm");
        assertEquals("openblas", ob.get("gemm").asText());
        assertEquals("native", nat.get("gemm").asText());
        double peakOb = j.get("sgemm_peak_gflops_openblas").asDouble(), peakNat = j.get("sgemm_peak_gflops_native").asDouble();
        assertTrue(peakOb > 0 && peakNat > 0, j.toString());
        assertEquals(Math.max(peakOb, peakNat), j.get("sgemm_peak_gflops").asDouble(), 1e-9);
        assertEquals(ob.get("gflops_per_s").asDouble() / peakOb, ob.get("fraction_of_sgemm_peak").asDouble(), 1e-9);
        assertEquals(nat.get("gflops_per_s").asDouble() / peakNat, nat.get("fraction_of_sgemm_peak").asDouble(), 1e-9);
        assertEquals(0, nat.get("allocations_in_timed_steps").asLong(), "the native product allocates nothing per step");
        assertTrue(j.has("speedup_cola+native-gemm_over_cola+openblas"), j.toString());
    }

    @Test
    void badGemmValueIsAUsageError() {
        Run r = run("bench", "--preset", "tiny", "--layer", "cola", "--gemm", "cublas");
        assertEquals(2, r.code, r.err);
        assertTrue(r.err.contains("--gemm") && r.err.contains("cublas"), r.err);
        Run s = run("bench", "--suite", "sgemm", "--size", "64", "--gemm", "both");
        assertEquals(2, s.code, s.err);
        assertTrue(s.err.contains("--gemm"), s.err);
    }
}
