package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.spark.cli.SparkTrainCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.lowrank.spark.train.SparkTrainLocalTest.args;
import static io.lowrank.spark.train.SparkTrainLocalTest.capture;
import static io.lowrank.spark.train.SparkTrainLocalTest.chunkLines;
import static io.lowrank.spark.train.SparkTrainLocalTest.lastJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spark's GPU scheduling carries a GPU to each training worker: a standalone Spark worker
 * ({@code local-cluster}) discovers two GPUs through deploy/gpu/discover-gpus.sh (fake addresses 7
 * and 9 from LOWRANK_GPU_ADDRESSES), the executor holds both, {@code --gpus-per-worker 1} asks one
 * per task, and each of the two barrier tasks must read its own, distinct address from
 * TaskContext.resources(), in every chunk, recorded in the chunk lines of metrics.jsonl and the
 * result. The workers train on the CPU backend (no GPU here); the address still becomes the
 * device ordinal the backend choice carries.
 */
class SparkGpuResourcesTest {
    private static final String[] PROPS = {"spark.executor.extraClassPath", "spark.executor.extraJavaOptions",
            "spark.worker.resource.gpu.amount", "spark.worker.resource.gpu.discoveryScript", "spark.executor.resource.gpu.amount"};

    @AfterEach
    void clearProperties() {
        for (String p : PROPS) System.clearProperty(p);
    }

    @Test
    void eachWorkerGetsItsOwnGpuAddressOnLocalCluster(@TempDir Path tmp) throws Exception {
        Path discover = Path.of(System.getProperty("user.dir")).resolve("../deploy/gpu/discover-gpus.sh").normalize();
        assertTrue(Files.isRegularFile(discover), discover.toString());
        // the discovery script as Spark runs it (no arguments), with the fake GPUs in its environment
        Path script = tmp.resolve("fake-gpus.sh");
        Files.writeString(script, "#!/usr/bin/env bash\nLOWRANK_GPU_ADDRESSES=7,9 exec bash " + discover + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        Files.createDirectories(Path.of(System.getenv("SPARK_HOME"), "jars"));
        System.setProperty("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        System.setProperty("spark.executor.extraJavaOptions", String.join(" ", SparkClusterTest.jvmOptions()));
        System.setProperty("spark.worker.resource.gpu.amount", "2");
        System.setProperty("spark.worker.resource.gpu.discoveryScript", script.toString());
        System.setProperty("spark.executor.resource.gpu.amount", "2");   // one executor with both GPUs and 2 task slots

        Path runDir = tmp.resolve("run");
        String out = capture(() -> assertEquals(0, SparkTrainCommand.run(args("train", "--preset", "tiny", "--layer", "cola",
                "--master", "local-cluster[1,2,2048]", "--workers", "2", "--threads", "1", "--gpus-per-worker", "1",
                "--steps", "4", "--chunk-steps", "2", "--batch", "2", "--corpus", SparkTrainLocalTest.corpus(tmp).toString(),
                "--run-dir", runDir.toString(), "--peer-timeout-s", "20"))));
        JsonNode result = lastJson(out);
        assertEquals(4, result.get("steps").asLong(), out);
        assertEquals("cpu", result.get("backend").asText());
        List<JsonNode> chunks = chunkLines(runDir);
        assertEquals(2, chunks.size());
        for (JsonNode c : chunks) {
            JsonNode addresses = c.get("gpu_addresses");
            assertTrue(addresses != null && addresses.size() == 2, c.toString());
            Set<String> seen = new HashSet<>();
            for (JsonNode a : addresses) seen.add(a.asText());
            assertEquals(Set.of("7", "9"), seen, "each worker its own GPU: " + c);
            for (JsonNode d : c.get("cuda_devices")) assertEquals(-1, d.asInt(), "the CPU backend binds no device: " + c);
        }
        assertEquals(2, result.get("gpu_addresses").size(), result.toString());
    }

    @Test
    void gpusPerWorkerIsOneWorkerPerGpu(@TempDir Path tmp) {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(err, true));
        int code;
        try {
            code = SparkTrainCommand.run(args("train", "--preset", "tiny", "--layer", "cola", "--master", "local[2]", "--workers", "1",
                    "--gpus-per-worker", "2", "--run-dir", tmp.resolve("r").toString()));
        } finally {
            System.setErr(saved);
        }
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("--gpus-per-worker must be 0 or 1"), err.toString());
        assertTrue(!Files.exists(tmp.resolve("r")), "nothing written before the options are checked");
    }

    @Test
    void taskGpuAddressBecomesTheCudaOrdinal() {
        assertEquals(3, TaskGpu.ordinal("3", null));
        assertEquals(1, TaskGpu.ordinal("3", "2,3"));           // the container shows GPUs 2 and 3 as CUDA devices 0 and 1
        assertEquals(0, TaskGpu.ordinal("GPU-a1b2", "GPU-a1b2,GPU-c3d4"));
        Exception e = assertThrows(IllegalStateException.class, () -> TaskGpu.ordinal("5", "2,3"));
        assertTrue(e.getMessage().contains("CUDA_VISIBLE_DEVICES=2,3 does not list it"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> TaskGpu.ordinal("GPU-a1b2", null));
        assertTrue(e.getMessage().contains("not a device index"), e.getMessage());
    }
}
