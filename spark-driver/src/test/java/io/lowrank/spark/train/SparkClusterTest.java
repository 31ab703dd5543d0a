package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkTrainCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.lowrank.spark.train.SparkTrainLocalTest.args;
import static io.lowrank.spark.train.SparkTrainLocalTest.capture;
import static io.lowrank.spark.train.SparkTrainLocalTest.chunkLines;
import static io.lowrank.spark.train.SparkTrainLocalTest.lastJson;
import static io.lowrank.spark.train.SparkTrainLocalTest.trainLosses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The training job on real clusters whose executors are separate JVMs, started from the Maven jars:
 * {@code local-cluster[2,1,2048]} with an executor killed in the middle of a chunk, a standalone
 * Master and Worker started as their own processes, and a driver killed and resumed with
 * {@code train --resume}. Every run is compared with an uninterrupted {@code local[2]} run of the
 * same configuration: same workers, same micro-batches, so the same loss sequence.
 */
class SparkClusterTest {
    private static final String CLASSPATH = System.getProperty("java.class.path");
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void executorsUseTheTestClasspath() throws IOException {
        String home = System.getenv("SPARK_HOME");
        assertTrue(home != null, "surefire sets SPARK_HOME");
        Files.createDirectories(Path.of(home, "jars"));
        System.setProperty("spark.executor.extraClassPath", CLASSPATH);
        System.setProperty("spark.executor.extraJavaOptions", String.join(" ", jvmOptions()));
    }

    @AfterEach
    void cleanUp() {
        System.clearProperty("spark.executor.extraClassPath");
        System.clearProperty("spark.executor.extraJavaOptions");
        for (Process p : processes) p.descendants().forEach(ProcessHandle::destroyForcibly);
        for (Process p : processes) p.destroyForcibly();
    }

    static List<String> jvmOptions() throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(System.getProperty("user.dir")).resolve("../conf/spark-jvm-options"))) {
            if (!line.isBlank() && !line.startsWith("#")) out.add(line.trim());
        }
        return out;
    }

    private static String[] run(String master, Path corpus, Path runDir, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--preset", "tiny", "--layer", "cola", "--master", master,
                "--workers", "2", "--steps", "6", "--chunk-steps", "3", "--batch", "2", "--threads", "1",
                "--corpus", corpus.toString(), "--run-dir", runDir.toString(), "--peer-timeout-s", "20"));
        a.addAll(List.of(extra));
        return args(a.toArray(new String[0]));
    }

    private static List<Double> reference(Path tmp, Path corpus) throws Exception {
        Path ref = tmp.resolve("reference");
        capture(() -> assertEquals(0, SparkTrainCommand.run(run("local[2]", corpus, ref))));
        return trainLosses(ref);
    }

    private static void assertSameLosses(List<Double> expected, List<Double> actual) {
        assertEquals(expected.size(), actual.size(), "steps logged");
        for (int i = 0; i < expected.size(); i++) {
            double rel = Math.abs(expected.get(i) - actual.get(i)) / expected.get(i);
            assertTrue(rel < 3e-6, "step " + (i + 1) + ": " + actual.get(i) + " vs uninterrupted " + expected.get(i));
        }
    }

    /** Each rank's cursor in the final checkpoint: exactly steps x batch sequences served, none twice. */
    private static void assertCursorsExact(Path runDir, int steps, int batch) throws IOException {
        JsonNode st = new ObjectMapper().readTree(runDir.resolve("step-0000000" + steps).resolve("trainer_state.json").toFile());
        JsonNode cursors = st.get("train_cursors");
        assertEquals(2, cursors.size());
        for (JsonNode c : cursors) assertEquals((long) steps * batch, c.get("sequencesServed").asLong(), c.toString());
    }

    @Test
    void localClusterSurvivesAnExecutorKilledMidChunk(@TempDir Path tmp) throws Exception {
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        List<Double> expected = reference(tmp, corpus);
        Path runDir = tmp.resolve("faulted");
        String out = capture(() -> assertEquals(0, SparkTrainCommand.run(run("local-cluster[2,1,2048]", corpus, runDir,
                "--fail-at-step", "4", "--fail-rank", "1"))));
        assertTrue(Files.exists(runDir.resolve("fault-injected-step-4")), "the fault was injected");
        JsonNode r = lastJson(out);
        assertEquals(6, r.get("steps").asLong());
        assertTrue(r.get("app_id").asText().startsWith("app-"), "separate executor JVMs: " + r);
        assertSameLosses(expected, trainLosses(runDir));
        assertCursorsExact(runDir, 6, 2);
        // the first chunk ran once; only the second was redone (by Spark's stage retry or the driver's loop)
        List<JsonNode> chunks = chunkLines(runDir);
        assertEquals(2, chunks.size());
        assertEquals(0, chunks.get(0).get("stage_attempt").asInt());
        assertTrue(chunks.get(1).get("stage_attempt").asInt() >= 1 || r.get("chunk_retries").asInt() == 1, out);
    }

    @Test
    void standaloneMasterAndWorkerProcesses(@TempDir Path tmp) throws Exception {
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        List<Double> expected = reference(tmp, corpus);
        int port = freePort();
        start(tmp.resolve("master.log"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--webui-port", Integer.toString(freePort()));
        start(tmp.resolve("worker.log"), "org.apache.spark.deploy.worker.Worker", "spark://127.0.0.1:" + port, "--host", "127.0.0.1",
                "--cores", "2", "--memory", "4g", "--webui-port", Integer.toString(freePort()), "--work-dir", tmp.resolve("work").toString());
        Path runDir = tmp.resolve("standalone");
        String out = capture(() -> assertEquals(0, SparkTrainCommand.run(run("spark://127.0.0.1:" + port, corpus, runDir,
                "--set", "train.log_every=1"))));
        assertTrue(lastJson(out).get("app_id").asText().startsWith("app-"));
        assertSameLosses(expected, trainLosses(runDir));
        assertCursorsExact(runDir, 6, 2);
    }

    @Test
    void killedDriverResumesFromTheLastCheckpoint(@TempDir Path tmp) throws Exception {
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        List<Double> expected = reference(tmp, corpus);
        Path runDir = tmp.resolve("resumed");
        List<String> cmd = new ArrayList<>(List.of("-cp", CLASSPATH, "io.lowrank.spark.SparkMain"));
        cmd.addAll(List.of(run("local[2]", corpus, runDir)));
        Process driver = start(tmp.resolve("driver.log"), cmd.toArray(new String[0]));
        Path firstCheckpoint = runDir.resolve("step-00000003");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.isRegularFile(firstCheckpoint.resolve("trainer_state.json")) && driver.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            Thread.sleep(50);  // polling a file another process writes: there is no condition to wait on
        }
        assertTrue(driver.isAlive(), "driver ended before its first checkpoint; see " + tmp.resolve("driver.log"));
        driver.destroyForcibly().waitFor();
        assertTrue(!Files.exists(runDir.resolve("step-00000006")), "killed before the second chunk finished");

        String out = capture(() -> assertEquals(0, SparkTrainCommand.run(new String[]{"train", "--resume", runDir.toString(),
                "--master", "local[2]", "--threads", "1"})));
        assertTrue(out.contains("resuming"), out);
        JsonNode r = lastJson(out);
        assertEquals(6, r.get("steps").asLong());
        assertSameLosses(expected, trainLosses(runDir));
        assertCursorsExact(runDir, 6, 2);
    }

    private Process start(Path log, String... mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        cmd.addAll(jvmOptions());
        if (!List.of(mainAndArgs).contains("-cp")) {
            cmd.add("-cp");
            cmd.add(CLASSPATH);
        }
        cmd.addAll(List.of(mainAndArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

}
