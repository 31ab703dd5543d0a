package io.lowrank.yarn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptReport;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ContainerReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application jar on YARN, submitted through {@code deploy/yarn/submit.sh}, with its corpus,
 * dataset and run directories on HDFS: {@code prepare} and {@code train} in cluster and client
 * deploy modes, 2 workers as a barrier stage on 2 YARN executors, an executor killed mid-chunk, the
 * ApplicationMaster (the cluster-mode driver) killed and the run resumed by a new application, and
 * GPUs requested from YARN. Every run trains the same 6 steps on the same data, so every run's
 * losses must equal the first uninterrupted one's (CPU training is deterministic).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class YarnTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration APP_TIMEOUT = Duration.ofSeconds(240);
    private static final int STEPS = 6, CHUNK_STEPS = 2, BATCH = 2;
    private static final List<String> MODEL = List.of("--set", "model.hidden_size=32", "--set", "model.intermediate_size=64",
            "--set", "model.num_attention_heads=4", "--set", "model.num_hidden_layers=2", "--set", "model.rank=8",
            "--set", "train.seq_len=16", "--set", "train.warmup_steps=1", "--set", "train.eval_batches=2",
            "--set", "train.bucket_mb=0.5", "--set", "train.log_every=1");
    /** Two executors of one core; heap and overhead sized for the tiny model (a real run: see submit.sh's defaults). */
    private static final List<String> SMALL_EXECUTORS = List.of("--executors", "2", "--executor-cores", "1",
            "--executor-memory", "640m", "--memory-overhead", "768m", "--driver-memory", "640m");

    static MiniYarnHdfs cluster;
    static YarnSubmit submit;
    static FileSystem fs;
    /** hdfs:// URI of the dataset test 1 prepared; every run trains on it. */
    static String dataset;
    /** Losses of the uninterrupted client-mode run. */
    static List<Double> reference;

    @BeforeAll
    static void startClusters() throws Exception {
        Path root = Path.of(System.getProperty("lowrank.root")).toAbsolutePath().normalize();
        Path work = root.resolve("yarn-tests/target/yarn-training");
        org.apache.commons.io.FileUtils.deleteQuietly(work.toFile());
        long t0 = System.nanoTime();
        cluster = MiniYarnHdfs.start(work.resolve("cluster"), Duration.ofSeconds(120));
        System.out.printf("MiniDFSCluster + MiniYARNCluster up in %.1f s; HADOOP_CONF_DIR=%s%n", (System.nanoTime() - t0) / 1e9, cluster.confDir());
        submit = new YarnSubmit(cluster, root, work);
        fs = cluster.fs();
        writeCorpus(new org.apache.hadoop.fs.Path("/corpora/tiny/corpus.txt"));
    }

    @AfterAll
    static void stopClusters() {
        if (submit != null) submit.close();
        if (cluster != null) cluster.close();
    }

    @Test
    @Order(1)
    void prepareInClusterModeAndTrainInClientModeOnHdfs() throws Exception {
        long t0 = System.nanoTime();
        YarnSubmit.Submission prep = submit.start(append(SMALL_EXECUTORS, "--deploy-mode", "cluster"),
                List.of("prepare", "--input", cluster.hdfsUri() + "/corpora/tiny", "--output", cluster.hdfsUri() + "/data/prepared",
                        "--seq-len", "16", "--val-fraction", "0.05"));
        assertEquals(0, prep.await(APP_TIMEOUT), prep.diagnostics());
        // cluster mode: YARN's status is the driver's word; the dataset on HDFS is the evidence
        FileStatus[] prepared = fs.listStatus(new org.apache.hadoop.fs.Path("/data/prepared"));
        assertEquals(1, prepared.length, "one dataset directory under /data/prepared: " + List.of(prepared));
        org.apache.hadoop.fs.Path ds = prepared[0].getPath();
        JsonNode manifest = JSON.readTree(read(new org.apache.hadoop.fs.Path(ds, "manifest.json")));
        // the input was read from hdfs://, and every shard the manifest lists is on HDFS next to it
        assertTrue(manifest.path("sources").get(0).path("path").asText().startsWith("hdfs://"), manifest.toString());
        int shards = 0;
        for (String split : List.of("train", "val")) {
            for (JsonNode shard : manifest.path(split).path("shards")) {
                assertTrue(fs.getFileStatus(new org.apache.hadoop.fs.Path(ds, shard.path("file").asText())).getLen() > 0, shard.toString());
                shards++;
            }
        }
        assertTrue(shards >= 2, "a train and a validation shard: " + manifest);
        dataset = ds.toString();
        System.out.printf("prepare (cluster mode) on YARN: %.1f s -> %s%n", (System.nanoTime() - t0) / 1e9, dataset);

        long t1 = System.nanoTime();
        String runDir = cluster.hdfsUri() + "/runs/client";
        YarnSubmit.Submission train = submit.start(append(SMALL_EXECUTORS, "--deploy-mode", "client"), trainArgs(runDir));
        assertEquals(0, train.await(APP_TIMEOUT), train.diagnostics());
        ApplicationReport app = train.report();
        assertEquals(FinalApplicationStatus.SUCCEEDED, app.getFinalApplicationStatus(), app.getDiagnostics());
        JsonNode result = lastJson(train.stdoutText());
        assertEquals(2, result.get("workers").asInt());
        assertEquals(STEPS, result.get("steps").asLong());
        assertEquals(app.getApplicationId().toString(), result.get("app_id").asText(), "the driver ran as this YARN application");
        assertTrue(result.get("final_loss").asDouble() < result.get("initial_loss").asDouble(), result.toString());
        for (JsonNode chunk : metrics(runDir, "chunk")) {
            assertTrue(chunk.path("gpu_addresses").isMissingNode(), "no GPUs requested, none assigned: " + chunk);
        }
        reference = trainLosses(runDir);
        assertEquals(STEPS, reference.size());
        assertCursorsExact(runDir);
        // default retention (3) keeps all three chunk checkpoints; nothing half-written stays behind
        assertEquals(List.of("step-00000002", "step-00000004", "step-00000006"), checkpoints(runDir));
        assertNoTemporaries(runDir);
        System.out.printf("train (client mode, 2 executors) on YARN: %.1f s, losses %s%n", (System.nanoTime() - t1) / 1e9, reference);
    }

    @Test
    @Order(2)
    void trainInClusterModeWithGpusFromYarn() throws Exception {
        assertNotNull(reference, "needs test 1's dataset and losses");
        long t0 = System.nanoTime();
        String runDir = cluster.hdfsUri() + "/runs/cluster-gpu";
        String eventLogs = cluster.hdfsUri() + "/spark-events";
        fs.mkdirs(new org.apache.hadoop.fs.Path("/spark-events"));
        List<String> opts = append(SMALL_EXECUTORS, "--deploy-mode", "cluster", "--gpus", "1",
                "--conf", "spark.executorEnv.LOWRANK_GPU_ADDRESSES=0",
                "--conf", "spark.eventLog.enabled=true", "--conf", "spark.eventLog.dir=" + eventLogs,
                "--conf", "spark.eventLog.compress=false");
        YarnSubmit.Submission train = submit.start(opts, append(trainArgs(runDir), "--keep-checkpoints", "1"));
        train.awaitApplication(APP_TIMEOUT);
        Map<String, Long> gpusByContainer = new ConcurrentHashMap<>();
        java.util.Set<String> gpuLogContainers = new java.util.TreeSet<>();
        Thread watcher = new Thread(() -> recordContainerGpus(train, gpusByContainer), "yarn-container-watcher");
        watcher.start();
        int rc = train.await(APP_TIMEOUT);
        watcher.interrupt();
        watcher.join();
        assertEquals(0, rc, train.diagnostics());
        assertEquals(reference, trainLosses(runDir), "cluster mode with GPUs requested trains exactly as client mode");
        assertCursorsExact(runDir);
        assertEquals(List.of("step-00000006"), checkpoints(runDir), "--keep-checkpoints 1 on HDFS keeps the newest only");
        assertNoTemporaries(runDir);

        // YARN granted each executor container one yarn.io/gpu; the AM container (the driver) none
        List<Long> granted = new ArrayList<>(gpusByContainer.values());
        assertEquals(1L, granted.stream().filter(g -> g == 0).count(), "one container without GPUs (the AM): " + gpusByContainer);
        assertEquals(2L, granted.stream().filter(g -> g == 1).count(), "two executor containers with one GPU each: " + gpusByContainer);
        // and Spark's executors registered with the address the discovery script named in their container
        List<JsonNode> executors = events(eventLogs, train.appId.toString(), "SparkListenerExecutorAdded");
        assertEquals(2, executors.size(), "executors added: " + executors);
        for (JsonNode e : executors) {
            JsonNode gpu = e.path("Executor Info").path("Resources").path("gpu");
            assertEquals("[\"0\"]", gpu.path("addresses").toString(), "executor " + e.path("Executor ID") + " resources: " + e);
        }
        JsonNode profile = events(eventLogs, train.appId.toString(), "SparkListenerResourceProfileAdded").get(0);
        assertEquals(1, profile.path("Executor Resource Requests").path("gpu").path("Amount").asInt(), profile.toString());
        assertTrue(profile.path("Executor Resource Requests").path("gpu").path("Discovery Script").asText().endsWith("deploy/gpu/discover-gpus.sh"),
                profile.toString());
        assertEquals(1.0, profile.path("Task Resource Requests").path("gpu").path("Amount").asDouble(), profile.toString());
        // each worker's task saw the GPU of its own container (TaskContext.resources): in the chunk records by rank...
        for (JsonNode chunk : metrics(runDir, "chunk")) {
            assertEquals("[\"0\",\"0\"]", chunk.path("gpu_addresses").toString(), "GPU address of each rank's task: " + chunk);
        }
        // ...and in the chunk log of each executor container: rank 0 and rank 1 in different containers
        Map<String, String> logs = containerStderr(train.appId.toString());
        for (int rank = 0; rank < 2; rank++) {
            String line = "[rank " + rank + "] chunk 0 on ";
            List<String> in = logs.entrySet().stream().filter(e -> e.getValue().lines()
                    .anyMatch(l -> l.startsWith(line) && l.contains(": GPU address 0 (CUDA device 0)"))).map(Map.Entry::getKey).toList();
            assertEquals(1, in.size(), "one container logged rank " + rank + "'s GPU address: " + in + " of " + logs.keySet());
            gpuLogContainers.add(in.get(0));
        }
        assertEquals(2, gpuLogContainers.size(), "ranks 0 and 1 ran in different executor containers: " + gpuLogContainers);
        System.out.printf("train (cluster mode, 1 GPU per executor) on YARN: %.1f s; containers' yarn.io/gpu %s; rank 0 and 1 logged GPU address 0 in %s%n",
                (System.nanoTime() - t0) / 1e9, new TreeMap<>(gpusByContainer), gpuLogContainers);
    }

    @Test
    @Order(3)
    void executorKilledMidChunkIsRedoneWithTheSameLosses() throws Exception {
        assertNotNull(reference, "needs test 1's dataset and losses");
        long t0 = System.nanoTime();
        String runDir = cluster.hdfsUri() + "/runs/executor-killed";
        // rank 1's executor JVM halts (exit 137, like a container killed by its node) before step 4, the second
        // step of chunk 1 (steps 3-4); YARN replaces the container and Spark reruns the barrier stage
        YarnSubmit.Submission train = submit.start(append(SMALL_EXECUTORS, "--deploy-mode", "client"),
                append(trainArgs(runDir, 10), "--fail-at-step", "3", "--fail-rank", "1"));
        assertEquals(0, train.await(APP_TIMEOUT), train.diagnostics());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(runDir, "fault-injected-step-3")), "the fault was injected");
        // the container that died is the one whose log ends with the fault line; YARN started a third executor
        Map<String, String> logs = containerStderr(train.appId.toString());
        List<String> halted = logs.entrySet().stream().filter(e -> e.getValue().contains("fault injection: rank 1 halts its JVM before step 3"))
                .map(Map.Entry::getKey).toList();
        assertEquals(1, halted.size(), "one executor container logged the fault: " + logs.keySet());
        assertEquals(4, logs.size(), "the AM, two executors and the replacement: " + logs.keySet());
        JsonNode result = lastJson(train.stdoutText());
        assertEquals(STEPS, result.get("steps").asLong());
        assertEquals(reference, trainLosses(runDir), "the redone chunk repeats exactly the steps of the failed one");
        assertCursorsExact(runDir);
        List<JsonNode> chunks = metrics(runDir, "chunk");
        assertEquals(3, chunks.size(), "each chunk logged once: " + chunks);
        assertEquals(0, chunks.get(0).get("stage_attempt").asInt(), "chunk 0 ran once");
        boolean stageRetried = chunks.get(1).get("stage_attempt").asInt() >= 1;
        assertTrue(stageRetried || result.get("chunk_retries").asInt() == 1, "chunk 1 was redone: " + chunks.get(1) + " / " + result);
        System.out.printf("executor killed before step 4: chunk 1 (steps 3-4) redone by %s (stage attempt %d, driver retries %d); %.1f s; losses %s%n",
                stageRetried ? "Spark's barrier stage retry" : "the driver's chunk loop", chunks.get(1).get("stage_attempt").asInt(),
                result.get("chunk_retries").asInt(), (System.nanoTime() - t0) / 1e9, trainLosses(runDir));
    }

    @Test
    @Order(4)
    void killedApplicationMasterIsResumedByANewApplication() throws Exception {
        assertNotNull(reference, "needs test 1's dataset and losses");
        long t0 = System.nanoTime();
        String runDir = cluster.hdfsUri() + "/runs/driver-killed";
        YarnSubmit.Submission first = submit.start(append(SMALL_EXECUTORS, "--deploy-mode", "cluster"), trainArgs(runDir));
        String appId = first.awaitApplication(APP_TIMEOUT).toString();
        org.apache.hadoop.fs.Path firstCheckpoint = new org.apache.hadoop.fs.Path(runDir, "step-00000002/trainer_state.json");
        long deadline = System.nanoTime() + APP_TIMEOUT.toNanos();
        while (!fs.exists(firstCheckpoint)) {
            assertTrue(first.process.isAlive() && System.nanoTime() < deadline, "no first checkpoint before the application ended\n" + first.diagnostics());
            Thread.sleep(50);   // a file another process writes: poll
        }
        // the driver of a cluster-mode application is the ApplicationMaster's JVM: SIGKILL it, as a lost node would
        ProcessHandle am = applicationMaster(appId);
        assertTrue(am.destroyForcibly(), "could not kill the ApplicationMaster " + am.pid());
        ApplicationReport killed = first.awaitFinished(APP_TIMEOUT);
        first.await(APP_TIMEOUT);
        assertEquals(FinalApplicationStatus.FAILED, killed.getFinalApplicationStatus(), "spark.yarn.maxAppAttempts=1: no second attempt");
        assertFalse(fs.exists(new org.apache.hadoop.fs.Path(runDir, String.format("step-%08d", STEPS))), "killed before the last chunk");
        List<String> left = checkpoints(runDir);
        // the kill can land between the checkpoint's publication and the driver's log line for that chunk
        List<Integer> loggedBeforeKill = fs.exists(new org.apache.hadoop.fs.Path(runDir, "metrics.jsonl"))
                ? metrics(runDir, "chunk").stream().map(n -> n.get("chunk").asInt()).toList() : List.of();
        int resumeStep = Integer.parseInt(left.get(left.size() - 1).substring("step-".length()));
        int firstRedone = resumeStep / CHUNK_STEPS;
        System.out.printf("ApplicationMaster %s (pid %d) killed after the first checkpoint; checkpoints left %s; chunks logged before the kill: %s%n",
                appId, am.pid(), left, loggedBeforeKill);

        YarnSubmit.Submission resumed = submit.start(append(SMALL_EXECUTORS, "--deploy-mode", "client"),
                List.of("train", "--resume", runDir, "--peer-timeout-s", "20"));
        assertEquals(0, resumed.await(APP_TIMEOUT), resumed.diagnostics());
        String out = resumed.stdoutText();
        assertTrue(out.contains("resuming " + runDir + " from " + runDir + "/" + left.get(left.size() - 1)), out);
        assertEquals(STEPS, lastJson(out).get("steps").asLong());
        assertEquals(reference, trainLosses(runDir), "the resumed run continues exactly where the checkpoint left it");
        assertCursorsExact(runDir);
        List<Integer> chunks = metrics(runDir, "chunk").stream().map(n -> n.get("chunk").asInt()).toList();
        // chunks the dead driver logged stay; the new application logs the chunks after its checkpoint; a chunk whose
        // checkpoint was published but not yet logged when the AM died gets its step lines back from the checkpoint
        // (the losses above are complete) while its timing summary, only in the dead driver's memory, is gone
        List<Integer> expected = new ArrayList<>(loggedBeforeKill);
        for (int c = firstRedone; c < STEPS / CHUNK_STEPS; c++) expected.add(c);
        assertEquals(expected, chunks, "each chunk's summary logged at most once");
        if (loggedBeforeKill.size() < firstRedone) {
            assertTrue(out.contains("restored the log of steps " + (loggedBeforeKill.size() * CHUNK_STEPS + 1) + "-" + resumeStep), out);
        }
        List<Integer> redone = new ArrayList<>();
        for (int c = firstRedone; c < STEPS / CHUNK_STEPS; c++) redone.add(c);
        System.out.printf("resumed from %s by %s (chunks %s run by the new application; chunk %d, in flight at the kill, redone): %.1f s in all; losses %s%n",
                left.get(left.size() - 1), resumed.appId, redone, firstRedone, (System.nanoTime() - t0) / 1e9, trainLosses(runDir));
    }

    // ---- helpers ----

    /** stderr of each container of {@code appId}, from the NodeManager's log directories (no log aggregation here). */
    private static Map<String, String> containerStderr(String appId) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String dir : cluster.yarn().getNodeManager(0).getConfig().getTrimmedStrings("yarn.nodemanager.log-dirs")) {
            Path app = Path.of(java.net.URI.create(dir.startsWith("/") ? "file://" + dir : dir)).resolve(appId);
            if (!java.nio.file.Files.isDirectory(app)) continue;
            try (var containers = java.nio.file.Files.list(app)) {
                for (Path c : containers.toList()) {
                    Path err = c.resolve("stderr");
                    if (java.nio.file.Files.isRegularFile(err)) out.put(c.getFileName().toString(), java.nio.file.Files.readString(err));
                }
            }
        }
        return out;
    }

    /** The ApplicationMaster JVM of {@code appId}: the NodeManager runs it on this host as a child of its container script. */
    private static ProcessHandle applicationMaster(String appId) throws IOException {
        List<ProcessHandle> found = new ArrayList<>();
        for (ProcessHandle p : ProcessHandle.allProcesses().toList()) {
            Path cmdline = Path.of("/proc", Long.toString(p.pid()), "cmdline");
            String c;
            try {
                c = java.nio.file.Files.readString(cmdline, StandardCharsets.ISO_8859_1).replace('\0', ' ');
            } catch (IOException gone) {
                continue;
            }
            // the JVM itself, not the container's `bash -c "java ..."` around it
            if (c.split(" ", 2)[0].endsWith("/bin/java") && c.contains("org.apache.spark.deploy.yarn.ApplicationMaster") && c.contains(appId)) {
                found.add(p);
            }
        }
        assertEquals(1, found.size(), "one ApplicationMaster JVM of " + appId + ": " + found);
        return found.get(0);
    }

    private static List<String> trainArgs(String runDir) {
        return trainArgs(runDir, 20);
    }

    /**
     * @param peerTimeoutS how long a worker waits for a silent ring peer; after an executor is lost the
     *                     surviving rank's task only ends (and frees its slot for the retry) once this expires
     */
    private static List<String> trainArgs(String runDir, int peerTimeoutS) {
        List<String> a = new ArrayList<>(List.of("train", "--preset", "tiny", "--layer", "cola", "--workers", "2",
                "--steps", Integer.toString(STEPS), "--chunk-steps", Integer.toString(CHUNK_STEPS), "--batch", Integer.toString(BATCH),
                "--data", dataset, "--run-dir", runDir, "--peer-timeout-s", Integer.toString(peerTimeoutS)));
        a.addAll(MODEL);
        return a;
    }

    private static List<String> append(List<String> head, String... more) {
        List<String> a = new ArrayList<>(head);
        a.addAll(List.of(more));
        return a;
    }

    private static void writeCorpus(org.apache.hadoop.fs.Path file) throws IOException {
        SplittableRandom r = new SplittableRandom(11);
        String[] words = {"the", "model", "learns", "low", "rank", "spark", "ring", "token", "layer", "gradient", "shard", "data"};
        StringBuilder sb = new StringBuilder();
        for (int doc = 0; doc < 120; doc++) {
            for (int w = 0; w < 60; w++) sb.append(words[r.nextInt(words.length)]).append(w % 9 == 8 ? ". " : " ");
            sb.append("\n\n");
        }
        try (FSDataOutputStream out = fs.create(file)) {
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    static String read(org.apache.hadoop.fs.Path p) throws IOException {
        try (FSDataInputStream in = fs.open(p)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static List<JsonNode> metrics(String runDir, String kind) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : read(new org.apache.hadoop.fs.Path(runDir, "metrics.jsonl")).split("\n")) {
            if (line.isBlank()) continue;
            JsonNode n = JSON.readTree(line);
            if (n.get("kind").asText().equals(kind)) out.add(n);
        }
        return out;
    }

    static List<Double> trainLosses(String runDir) throws IOException {
        return metrics(runDir, "train").stream().map(n -> n.get("loss").asDouble()).collect(Collectors.toList());
    }

    static List<String> checkpoints(String runDir) throws IOException {
        List<String> names = new ArrayList<>();
        for (FileStatus s : fs.listStatus(new org.apache.hadoop.fs.Path(runDir))) {
            if (s.isDirectory() && s.getPath().getName().matches("step-\\d{8}")) names.add(s.getPath().getName());
        }
        names.sort(null);
        return names;
    }

    static void assertNoTemporaries(String runDir) throws IOException {
        for (FileStatus s : fs.listStatus(new org.apache.hadoop.fs.Path(runDir))) {
            assertFalse(s.getPath().getName().contains(".tmp-"), "left-over temporary " + s.getPath());
        }
    }

    /** Each rank's cursor in the final checkpoint: exactly steps x batch sequences served, none twice. */
    static void assertCursorsExact(String runDir) throws IOException {
        JsonNode st = JSON.readTree(read(new org.apache.hadoop.fs.Path(runDir, String.format("step-%08d/trainer_state.json", STEPS))));
        JsonNode cursors = st.get("train_cursors");
        assertEquals(2, cursors.size(), st.toString());
        for (JsonNode c : cursors) assertEquals((long) STEPS * BATCH, c.get("sequencesServed").asLong(), c.toString());
    }

    static JsonNode lastJson(String stdout) throws IOException {
        String[] lines = stdout.trim().split("\n");
        return JSON.readTree(lines[lines.length - 1]);
    }

    /** Events of one kind from the application's Spark event log on HDFS. */
    static List<JsonNode> events(String dir, String appId, String kind) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        List<String> files = new ArrayList<>();
        var it = fs.listFiles(new org.apache.hadoop.fs.Path(dir), true);
        while (it.hasNext()) {
            org.apache.hadoop.fs.Path p = it.next().getPath();
            files.add(p.toString());
            if (!p.toString().contains(appId)) continue;
            for (String line : read(p).split("\n")) {
                if (line.contains("\"Event\":\"" + kind + "\"")) out.add(JSON.readTree(line));
            }
        }
        assertFalse(out.isEmpty(), "no " + kind + " event of " + appId + " in the event logs " + files);
        return out;
    }

    /** While the application runs: yarn.io/gpu of every container the RM allocated to it. */
    private static void recordContainerGpus(YarnSubmit.Submission s, Map<String, Long> gpusByContainer) {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                ApplicationReport app = s.report();
                if (app.getYarnApplicationState() == YarnApplicationState.FINISHED || app.getYarnApplicationState() == YarnApplicationState.FAILED
                        || app.getYarnApplicationState() == YarnApplicationState.KILLED) return;
                for (ApplicationAttemptReport attempt : submit.yarnClient().getApplicationAttempts(s.appId)) {
                    for (ContainerReport c : submit.yarnClient().getContainers(attempt.getApplicationAttemptId())) {
                        gpusByContainer.put(c.getContainerId().toString(), c.getAllocatedResource().getResourceValue(MiniYarnHdfs.GPU));
                    }
                }
                Thread.sleep(300);   // the RM has no push API for a client: poll while the app lives
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IllegalStateException("reading the application's containers from the RM", e);
        }
    }
}
