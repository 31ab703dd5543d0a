package io.lowrank.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * bin/gpu-check-bundle builds the GPU check's folder (what goes to the GPU machine, which has no
 * Java and no network): at most 60 MiB; no ND4J, JavaCPP or Spark jar; the bundled jlinked JRE
 * starts the bundled jars on {@code eval} and {@code train-local --backend cuda} and fails cleanly
 * (no GPU here: no driver, or no CUDA library in a build without nvcc); the recorded CPU run holds 30 finite,
 * falling losses; run.sh parses (bash -n) and its dry run finds every file it uses, and names the
 * one that is missing when one is.
 */
class GpuCheckBundleTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path FIXTURES = ROOT.resolve("worker-runtime/src/test/resources/fixtures");
    static final long LIMIT = 60L * 1024 * 1024;
    static Path work, bundle, jre;

    @BeforeAll
    static void build() throws Exception {
        work = Files.createTempDirectory("gpu-check-bundle-test");
        bundle = work.resolve("gpu-check");
        Result r = run(ROOT, 240, "bash", ROOT.resolve("bin/gpu-check-bundle").toString(), "--out", bundle.toString());
        assertEquals(0, r.code, "bin/gpu-check-bundle failed\n" + r);
        JsonNode summary = new ObjectMapper().readTree(r.lastLine());
        assertEquals(bundle.toString(), summary.get("bundle").asText());
        Result untar = run(work, 60, "tar", "-xzf", bundle.resolve("jre.tar.gz").toString(), "-C", work.toString());
        assertEquals(0, untar.code, untar.toString());
        jre = work.resolve("jre/bin/java");
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (work == null) return;
        try (Stream<Path> s = Files.walk(work)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void bundleFitsTheUploadAndShipsNoNd4j() throws Exception {
        long bytes;
        List<String> files;
        try (Stream<Path> s = Files.walk(bundle)) {
            List<Path> all = s.filter(Files::isRegularFile).collect(Collectors.toList());
            bytes = 0;
            for (Path p : all) bytes += Files.size(p);
            files = all.stream().map(p -> bundle.relativize(p).toString()).collect(Collectors.toList());
        }
        assertTrue(bytes <= LIMIT, "bundle is " + bytes + " bytes, over 60 MiB: " + files);
        for (String f : files) {
            String l = f.toLowerCase();
            for (String banned : new String[]{"nd4j", "javacpp", "openblas", "bytedeco", "spark-", "scala-", "hadoop"}) {
                assertFalse(l.contains(banned), "the bundle ships " + f);
            }
        }
        assertTrue(files.contains("lib/worker-runtime.jar") && files.contains("jre.tar.gz") && files.contains("run.sh"), files.toString());
        // the jlinked JRE holds only the modules the CUDA path needs
        Result mods = run(work, 60, jre.toString(), "--list-modules");
        assertEquals(0, mods.code, mods.toString());
        assertTrue(mods.out.contains("java.base") && !mods.out.contains("java.desktop") && !mods.out.contains("java.sql"), mods.out);
    }

    @Test
    void bundledJreRunsTheCliAndFailsCleanlyWithoutAGpu() throws Exception {
        String cp;
        try (Stream<Path> s = Files.list(bundle.resolve("lib"))) {
            cp = s.map(Path::toString).sorted().collect(Collectors.joining(File.pathSeparator));
        }
        Result eval = run(work, 60, jre.toString(), "-cp", cp, "io.lowrank.worker.cli.Main", "eval", "--backend", "cuda",
                "--model", FIXTURES.resolve("cola-tiny").toString(), "--tokens", FIXTURES.resolve("tokens.npy").toString(), "--seq-len", "16");
        assertCleanCudaFailure(eval);
        // train reads the preset (Jackson) and builds the tokenizer (jtokkit) on the bundled JRE before it opens the backend
        Path runDir = work.resolve("train-run");
        Result train = run(work, 60, jre.toString(), "-cp", cp, "io.lowrank.worker.cli.Main", "train-local", "--backend", "cuda",
                "--preset", "tiny", "--layer", "cola", "--steps", "40", "--tokens", bundle.resolve("cpu-ref/tokens.npy").toString(),
                "--run-dir", runDir.toString());
        assertCleanCudaFailure(train);
        assertFalse(Files.exists(runDir), "train wrote " + runDir + " without a backend");
        Result usage = run(work, 60, jre.toString(), "-cp", cp, "io.lowrank.worker.cli.Main", "eval", "--backend", "cpu", "--precision", "bf16",
                "--model", "x", "--tokens", "y", "--seq-len", "16");
        assertEquals(2, usage.code, usage.toString());
        assertTrue(usage.err.contains("--precision bf16 needs --backend cuda"), usage.toString());
    }

    @Test
    void recordedCpuRunHas30FallingLosses() throws IOException {
        JsonNode ref = new ObjectMapper().readTree(bundle.resolve("cpu-ref/train30.json").toFile());
        JsonNode losses = ref.get("losses");
        assertEquals(30, losses.size(), ref.toString());
        for (JsonNode l : losses) assertTrue(Double.isFinite(l.asDouble()), ref.toString());
        // the chain-structured tokens are learnable: the loss falls well below its start
        assertTrue(losses.get(29).asDouble() < losses.get(0).asDouble() - 2.0, losses.toString());
        assertTrue(Files.size(bundle.resolve("cpu-ref/tokens.npy")) > 40_000);
    }

    @Test
    void runShParsesAndItsDryRunFindsEveryFile() throws Exception {
        Path runSh = bundle.resolve("run.sh");
        Result syntax = run(work, 30, "bash", "-n", runSh.toString());
        assertEquals(0, syntax.code, syntax.toString());
        Result dry = run(work, 60, "bash", runSh.toString(), "--dry-run");
        assertEquals(0, dry.code, dry.toString());
        JsonNode first = new ObjectMapper().readTree(dry.out.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
        assertEquals("pass", first.get("status").asText(), dry.toString());
        assertEquals(0, first.get("missing").size(), dry.toString());
        assertTrue(dry.out.contains("\"part\": \"eval-grad\"") && dry.out.contains("\"part\": \"train30\""), dry.toString());
        boolean cudaInTree = Files.isDirectory(ROOT.resolve("native-kernels/cuda"));
        assertEquals(cudaInTree ? "present" : "absent", first.get("cuda_sources").asText().replace("-without-run-gpu-tests.sh", ""), dry.toString());

        // a bundle missing a file it needs: the dry run fails naming it
        Path tokens = bundle.resolve("cpu-ref/tokens.npy"), aside = work.resolve("tokens.npy.aside");
        Files.move(tokens, aside);
        try {
            Result broken = run(work, 60, "bash", runSh.toString(), "--dry-run");
            assertEquals(1, broken.code, broken.toString());
            assertTrue(broken.out.contains("\"missing\": [\"cpu-ref/tokens.npy\"]"), broken.toString());
        } finally {
            Files.move(aside, tokens);
        }
    }

    /** Exit 1, one "error: --backend cuda (device N, P): REASON" line naming the missing piece, no Java error or stack trace. */
    static void assertCleanCudaFailure(Result r) {
        assertEquals(1, r.code, r.toString());
        assertFalse(r.err.contains("NoClassDefFoundError") || r.err.contains("\tat ") || r.err.contains("Exception in thread"), r.toString());
        String error = r.err.lines().filter(l -> l.startsWith("error: ")).reduce((a, b) -> b).orElse("");
        assertTrue(error.matches("error: --backend cuda \\(device \\d+, (f32|bf16)\\): .+"), r.toString());
        assertTrue(error.contains("liblowrank_cuda.so") || error.contains("no NVIDIA driver or GPU found") || error.contains("cuBLASLt"),
                "the reason names no missing piece: " + r);
    }

    static final class Result {
        final int code;
        final String out, err;
        Result(int code, String out, String err) { this.code = code; this.out = out; this.err = err; }
        String lastLine() {
            String[] l = out.trim().split("\n");
            return l[l.length - 1];
        }
        @Override public String toString() { return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err; }
    }

    static Result run(Path dir, int timeoutS, String... cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile(work != null ? work : dir, "out", ".txt"), err = Files.createTempFile(work != null ? work : dir, "err", ".txt");
        List<String> c = new ArrayList<>(List.of(cmd));
        ProcessBuilder pb = new ProcessBuilder(c).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("LOWRANK_DEBUG");
        Process p = pb.start();
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("timed out after " + timeoutS + " s: " + c);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
