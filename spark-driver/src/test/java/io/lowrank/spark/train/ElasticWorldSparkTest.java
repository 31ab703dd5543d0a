package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkTrainCommand;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.data.CursorReshard;
import io.lowrank.worker.data.CursorState;
import io.lowrank.spark.report.RunMetrics;
import io.lowrank.worker.train.RunSummary;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.lowrank.spark.train.SparkTrainLocalTest.records;
import static io.lowrank.spark.train.SparkTrainLocalTest.args;
import static io.lowrank.spark.train.SparkTrainLocalTest.capture;
import static io.lowrank.spark.train.SparkTrainLocalTest.lastJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train --workers 3 --elastic 2..3} on {@code local-cluster[3,1,..]} (three executor JVMs):
 * one executor is killed for good while chunk 1 runs ({@code SparkContext.killExecutors}: the
 * standalone Worker kills the JVM and the application's executor target drops, so the Master does
 * not replace it). The driver cancels the chunk that can no longer be scheduled, continues on 2
 * workers with the same global batch, and grows back to 3 once an executor is requested again.
 * The run must consume exactly the sequences of an uninterrupted 3-worker run (every checkpoint's
 * cursors are the prefix of the same length) and reproduce its losses within
 * DataParallelEquivalenceTest's tolerance (the reduction order changes with the world size).
 */
class ElasticWorldSparkTest {
    private static final double LOSS_TOLERANCE = 3e-7;
    private static final ObjectMapper JSON = new ObjectMapper();
    // 16 steps: the executor requested back must register before the last chunk boundary (it took 1-2 chunks
    // of 2 steps in every observed run; 6 boundaries after the shrink leave room on a faster or slower machine)
    private static final int STEPS = 16, CHUNK = 2, GLOBAL_BATCH = 6;

    @BeforeEach
    void executorsUseTheTestClasspath() throws Exception {
        String home = System.getenv("SPARK_HOME");
        assertTrue(home != null, "surefire sets SPARK_HOME");
        Files.createDirectories(Path.of(home, "jars"));
        System.setProperty("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        System.setProperty("spark.executor.extraJavaOptions", String.join(" ", SparkClusterTest.jvmOptions()));
    }

    @AfterEach
    void cleanUp() {
        System.clearProperty("spark.executor.extraClassPath");
        System.clearProperty("spark.executor.extraJavaOptions");
    }

    private static String[] train(String master, int chunkSteps, Path corpus, Path runDir, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--preset", "tiny", "--layer", "cola", "--master", master,
                "--workers", "3", "--steps", Integer.toString(STEPS), "--chunk-steps", Integer.toString(chunkSteps), "--batch", "2",
                "--threads", "1", "--keep-checkpoints", "0", "--corpus", corpus.toString(), "--run-dir", runDir.toString(),
                "--peer-timeout-s", "10"));
        a.addAll(List.of(extra));
        return args(a.toArray(new String[0]));
    }

    @Test
    void shrinksToTwoWorkersWhenAnExecutorIsLostForGoodAndGrowsBackToThree(@TempDir Path tmp) throws Exception {
        long t0 = System.nanoTime();
        Path corpus = SparkTrainLocalTest.corpus(tmp);
        Path reference = tmp.resolve("reference"), elastic = tmp.resolve("elastic");
        // the uninterrupted run in one chunk: chunking does not change the numbers (a chunk boundary is an exact
        // checkpoint and resume), and one Spark job instead of five keeps the test within its CI budget
        capture(() -> assertEquals(0, SparkTrainCommand.run(train("local[3]", STEPS, corpus, reference))));
        long referenceSeconds = (System.nanoTime() - t0) / 1_000_000_000L;

        CompletableFuture<String> run = CompletableFuture.supplyAsync(() -> {
            try {
                return capture(() -> assertEquals(0, SparkTrainCommand.run(train("local-cluster[3,1,1024]", CHUNK, corpus, elastic,
                        "--elastic", "2..3", "--elastic-grace-s", "3", "--elastic-wait-s", "60"))));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);   // generous: a shared CI machine can be slow
        SparkContext sc = awaitClusterContext(run, deadline);
        Stages stages = new Stages();
        sc.addSparkListener(stages);

        // chunk 1 (steps 3-4) running on its 3 workers: the executor of rank 2 is lost for good
        stages.await(() -> stages.startedTasks("train steps 3-4", 3) != null, run, deadline, "chunk 1's three tasks to start");
        String lost = stages.startedTasks("train steps 3-4", 3).get(2);
        assertTrue(sc.killExecutors(scala.jdk.javaapi.CollectionConverters.asScala(List.of(lost)).toSeq()), "kill executor " + lost);
        // the driver goes on with 2 workers; then the cluster gets a third executor again
        stages.await(() -> stages.barrierStagesOf(2) > 0, run, deadline, "a chunk of 2 workers");
        // back to 3 executors: the target killExecutors lowered is raised again (requestExecutors(1) would
        // add 1 to a target that the kill set to 0, as standalone had no explicit target, and start nothing)
        assertTrue(sc.requestTotalExecutors(3, 0, scala.collection.immutable.Map$.MODULE$.empty()), "request 3 executors");

        String out = run.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        System.out.printf("ElasticWorldSparkTest: reference run %d s, whole test %d s%n", referenceSeconds, seconds);
        JsonNode result = lastJson(out);
        assertEquals(STEPS, result.get("steps").asLong());
        assertEquals(3, result.get("workers").asInt(), "grown back to 3: " + result);
        assertEquals(2, result.get("elastic_changes").asInt(), result.toString());
        // the slots drop as soon as the executor is marked for removal; its loss may be reported later
        assertTrue(out.contains("elastic: 3 -> 2 workers at step 2: 2 barrier slots available ("), out);
        assertTrue(out.contains("chunk failed ([SPARK_JOB_CANCELLED]") && out.contains("elastic: 2 barrier slots left for 3 workers for 3.0 s"), out);
        assertTrue(out.contains("3 workers x micro-batch 2 x accumulation 1 -> 2 x 1 x 3 (global batch 6 sequences kept)"), out);
        assertTrue(out.contains("elastic: 2 -> 3 workers at step "), out);
        assertTrue(out.contains("2 workers x micro-batch 1 x accumulation 3 -> 3 x 2 x 1 (global batch 6 sequences kept)"), out);

        // the elastic records: 3 -> 2 at step 2 (chunk 1 redone from its starting checkpoint), 2 -> 3 later
        List<JsonNode> changes = records(elastic, "elastic");
        assertEquals(2, changes.size(), changes.toString());
        JsonNode shrink = changes.get(0), grow = changes.get(1);
        assertEquals(List.of(3, 2, 2L), List.of(shrink.get("from_workers").asInt(), shrink.get("to_workers").asInt(), shrink.get("step").asLong()));
        assertEquals(List.of(1, 3, GLOBAL_BATCH), List.of(shrink.get("micro_batch").asInt(), shrink.get("grad_accum").asInt(), shrink.get("global_batch").asInt()));
        assertEquals(List.of(2, 3, 2, 1), List.of(grow.get("from_workers").asInt(), grow.get("to_workers").asInt(),
                grow.get("micro_batch").asInt(), grow.get("grad_accum").asInt()));
        long grownAt = grow.get("step").asLong();
        assertEquals(2, shrink.get("slots").asInt());
        assertEquals(3, grow.get("slots").asInt());
        // the executor events reported since the previous decision (the loss itself may be reported late:
        // the slots drop as soon as Spark marks the executor for removal)
        assertTrue(grow.get("events").asText().contains(" added on "), "the executor that came back: " + grow);
        assertTrue(grownAt > 2 && grownAt < STEPS && grownAt % CHUNK == 0, "grown back at a later chunk boundary: " + grow);
        assertEquals(1, records(elastic, "retry").size(), "chunk 1 was cancelled once and redone");
        JsonNode runJson = JSON.readTree(elastic.resolve("run.json").toFile());
        assertEquals(3, runJson.get("workers").asInt());
        assertEquals(2, runJson.get("run_config").get("train").get("batch_size").asInt());
        assertEquals(2, runJson.get("elastic").get("min").asInt());
        assertEquals(3, runJson.get("elastic").get("max").asInt());

        // the same losses as the uninterrupted 3-worker run, every step once
        List<JsonNode> ref = records(reference, "train"), got = records(elastic, "train");
        assertEquals(STEPS, ref.size());
        assertEquals(STEPS, got.size(), "each step logged once");
        for (int i = 0; i < STEPS; i++) {
            assertEquals(i + 1, got.get(i).get("step").asLong());
            double a = got.get(i).get("loss").asDouble(), b = ref.get(i).get("loss").asDouble();
            double rel = Math.abs(a - b) / b;
            assertTrue(rel < LOSS_TOLERANCE, "step " + (i + 1) + ": elastic " + a + " vs uninterrupted " + b + " (rel " + rel + ")");
        }
        // exactly the sequences of the uninterrupted run: at every checkpoint the cursors of that
        // chunk's workers together took the windows [0, 6 x step) of the first epoch, each once
        for (long step = CHUNK; step <= STEPS; step += CHUNK) {
            List<CursorState> e = cursors(elastic, step);
            int expectedWorkers = step <= 2 || step > grownAt ? 3 : 2;
            assertEquals(expectedWorkers, e.size(), "workers of the chunk ending at step " + step);
            assertEquals(GLOBAL_BATCH * step, CursorReshard.prefix(e), "windows taken by step " + step);
            assertEquals(GLOBAL_BATCH * step, served(e), "sequences served by step " + step);
            for (CursorState c : e) assertEquals(0, c.epoch());
        }
        List<CursorState> e = cursors(elastic, STEPS), r = cursors(reference, STEPS);
        assertEquals(CursorReshard.prefix(r), CursorReshard.prefix(e));
        assertEquals(served(r), served(e));
        assertEquals(r, e, "the same cursor states as the uninterrupted run's at the end");

        // the readers of metrics.jsonl (report, compare, --resume of a finished run) skip the elastic records
        String text = Files.readString(elastic.resolve("metrics.jsonl"));
        RunMetrics m = RunMetrics.parse("elastic", "metrics.jsonl", text);
        assertEquals(STEPS, m.steps.size());
        assertEquals(0, m.skippedLines);
        assertEquals(STEPS / CHUNK, m.chunks.size());
        assertEquals(1, m.retries.size());
        RunSummary summary = RunSummary.of(text, 1);
        assertEquals(got.get(STEPS - 1).get("loss").asDouble(), summary.lastStepLoss);
    }

    /** The SparkContext the command in the other thread created (the local-cluster one), polled with a deadline. */
    private static SparkContext awaitClusterContext(CompletableFuture<String> run, long deadline) throws Exception {
        while (System.nanoTime() < deadline && !run.isDone()) {
            scala.Option<SparkSession> s = SparkSession.getDefaultSession();
            if (s.isDefined() && !s.get().sparkContext().isStopped() && s.get().sparkContext().master().startsWith("local-cluster")) {
                return s.get().sparkContext();
            }
            Thread.sleep(50);   // the session is created inside the command: no event to wait on
        }
        if (run.isDone()) run.join();
        throw new AssertionError("no local-cluster SparkSession within the deadline");
    }

    private static List<CursorState> cursors(Path runDir, long step) throws Exception {
        JsonNode st = JSON.readTree(runDir.resolve(CheckpointDir.stepDirName(step)).resolve(CheckpointDir.TRAINER_STATE_JSON).toFile());
        List<CursorState> out = new ArrayList<>();
        for (JsonNode c : st.get("train_cursors")) out.add(CursorState.fromJson(c.toString()));
        return out;
    }

    private static long served(List<CursorState> cursors) {
        return cursors.stream().mapToLong(CursorState::sequencesServed).sum();
    }

    /** The barrier stages the driver submitted (more than one task) and the executors their tasks started on. */
    static final class Stages extends SparkListener {
        private final Map<Integer, String> description = new HashMap<>();
        private final Map<Integer, Integer> tasks = new HashMap<>();
        private final Map<Integer, Map<Integer, String>> executorByPartition = new HashMap<>();

        @Override
        public synchronized void onStageSubmitted(SparkListenerStageSubmitted e) {
            int id = e.stageInfo().stageId();
            description.put(id, e.properties() == null ? "" : String.valueOf(e.properties().getProperty("spark.job.description")));
            tasks.put(id, e.stageInfo().numTasks());
            notifyAll();
        }

        @Override
        public synchronized void onTaskStart(SparkListenerTaskStart e) {
            executorByPartition.computeIfAbsent(e.stageId(), k -> new HashMap<>()).put(e.taskInfo().index(), e.taskInfo().executorId());
            notifyAll();
        }

        /** The executors by partition of a stage of that description whose `workers` tasks have all started, or null. */
        synchronized Map<Integer, String> startedTasks(String descriptionPrefix, int workers) {
            for (Map.Entry<Integer, String> d : description.entrySet()) {
                Map<Integer, String> started = executorByPartition.get(d.getKey());
                if (d.getValue().startsWith(descriptionPrefix) && tasks.get(d.getKey()) == workers && started != null && started.size() == workers) {
                    return new HashMap<>(started);
                }
            }
            return null;
        }

        synchronized int barrierStagesOf(int workers) {
            int n = 0;
            for (Map.Entry<Integer, Integer> t : tasks.entrySet()) {
                if (t.getValue() == workers && description.get(t.getKey()).startsWith("train steps")) n++;
            }
            return n;
        }

        /** Waits for the condition (re-checked on each listener event and at least every second) until the deadline. */
        synchronized void await(BooleanSupplier condition, CompletableFuture<String> run, long deadline, String what) throws Exception {
            while (!condition.getAsBoolean()) {
                if (run.isDone()) {
                    throw new AssertionError("the run ended before " + what + ": " + run.handle((s, x) -> x != null ? x.toString() : s).join());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new AssertionError("timed out waiting for " + what);
                TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.SECONDS.toNanos(1)));
            }
        }
    }
}
