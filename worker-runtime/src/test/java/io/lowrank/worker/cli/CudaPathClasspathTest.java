package io.lowrank.worker.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The CUDA path loads no ND4J: the worker CLI runs in a child JVM whose classpath is the worker
 * runtime's minus every jar that deploy/gpu/cuda-path-jars.txt drops (ND4J, JavaCPP, OpenBLAS and
 * what they pull in; Spark is not a dependency of this module at all), which is what
 * bin/gpu-check-bundle ships to the GPU machine. eval, grad, train-local and bench with --backend cuda
 * must stop with exit code 1 and one clean line naming what is missing (the CUDA library not in
 * this build, or no driver/GPU on this machine), no NoClassDefFoundError and no stack trace, before
 * anything is written. The same classpath with --backend cpu must fail on the missing ND4J classes:
 * the control that shows they really are absent.
 */
class CudaPathClasspathTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures").toAbsolutePath();
    static final Path RULES = Path.of("../deploy/gpu/cuda-path-jars.txt").toAbsolutePath().normalize();
    static String leanClasspath;

    @BeforeAll
    static void classpath() throws IOException {
        List<String[]> rules = new ArrayList<>();
        for (String line : Files.readAllLines(RULES)) {
            line = line.trim();
            if (line.isEmpty() || line.startsWith("#")) continue;
            rules.add(new String[]{line.substring(0, 1), line.substring(1).trim()});
        }
        Path cpFile = Path.of("target/classpath.txt");
        assertTrue(Files.isRegularFile(cpFile), cpFile.toAbsolutePath() + " missing: it is written in process-classes (mvn compile)");
        List<String> lean = new ArrayList<>();
        lean.add(Path.of("target/classes").toAbsolutePath().toString());
        for (String entry : Files.readString(cpFile).trim().split(File.pathSeparator)) {
            String rule = null;
            for (String[] r : rules) if (entry.contains(r[1])) { rule = r[0]; break; }
            if (rule == null) fail(entry + " is on worker-runtime's runtime classpath but not classified in " + RULES + ": add '+ PATTERN' if the CUDA path needs it, '- PATTERN' otherwise");
            if (rule.equals("+")) lean.add(entry);
        }
        for (String e : lean) {
            for (String banned : new String[]{"nd4j", "bytedeco", "openblas", "javacpp", "spark"}) {
                assertFalse(e.toLowerCase().contains(banned), "the CUDA-path classpath keeps " + e);
            }
        }
        leanClasspath = String.join(File.pathSeparator, lean);
    }

    static final class Result {
        final int code;
        final String out, err;
        Result(int code, String out, String err) { this.code = code; this.out = out; this.err = err; }
        @Override public String toString() { return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err; }
    }

    static Result runCli(Path work, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", leanClasspath, "io.lowrank.worker.cli.Main"));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(work, "out", ".txt"), err = Files.createTempFile(work, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("LOWRANK_DEBUG");
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the CLI did not finish in 60 s: " + cmd);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    /**
     * Exit 1 and one "error: --backend cuda (device N, P): REASON" line whose reason names the missing
     * piece (this machine has no GPU: the library not in this build, or no driver/GPU), no Java error
     * and no stack trace.
     */
    static void assertCleanCudaFailure(Result r) {
        assertEquals(1, r.code, r.toString());
        assertFalse(r.err.contains("NoClassDefFoundError") || r.err.contains("ClassNotFoundException") || r.err.contains("\tat ")
                || r.err.contains("Exception in thread"), r.toString());
        String error = null;
        for (String line : r.err.split("\n")) if (line.startsWith("error: ")) error = line;
        assertTrue(error != null && error.matches("error: --backend cuda \\(device \\d+, (f32|bf16)\\): .+"), r.toString());
        String reason = error.substring(error.indexOf("): ") + 3);
        assertTrue(reason.contains("liblowrank_cuda.so") || reason.contains("no NVIDIA driver or GPU found") || reason.contains("cuBLASLt")
                || reason.contains("device"), "the reason names no missing piece: " + r);
    }

    @Test
    void evalGradTrainBenchWithCudaFailCleanlyWithoutNd4j(@TempDir Path work) throws Exception {
        String model = FIXTURES.resolve("cola-tiny").toString(), tokens = FIXTURES.resolve("tokens.npy").toString();
        assertCleanCudaFailure(runCli(work, "eval", "--backend", "cuda", "--model", model, "--tokens", tokens, "--seq-len", "16"));
        Path grads = work.resolve("g.safetensors");
        assertCleanCudaFailure(runCli(work, "grad", "--backend", "cuda", "--precision", "bf16", "--model", model, "--tokens", tokens,
                "--seq-len", "16", "--out", grads.toString()));
        assertFalse(Files.exists(grads), "grad wrote " + grads + " without a backend");
        Path runDir = work.resolve("run");
        assertCleanCudaFailure(runCli(work, "train-local", "--backend", "cuda", "--preset", "tiny", "--layer", "cola", "--steps", "40",
                "--tokens", tokens, "--run-dir", runDir.toString()));
        assertFalse(Files.exists(runDir), "train created " + runDir + " before its backend opened");
        assertCleanCudaFailure(runCli(work, "bench", "--backend", "cuda", "--preset", "tiny", "--layer", "cola", "--steps", "1",
                "--warmup", "0", "--seq-len", "16", "--batch", "1"));
    }

    @Test
    void cpuBackendOnTheSameClasspathMissesNd4j(@TempDir Path work) throws Exception {
        Result r = runCli(work, "eval", "--model", FIXTURES.resolve("cola-tiny").toString(), "--tokens",
                FIXTURES.resolve("tokens.npy").toString(), "--seq-len", "16");
        assertTrue(r.code != 0 && (r.err.contains("org/nd4j") || r.err.contains("org/bytedeco")), r.toString());
    }
}
