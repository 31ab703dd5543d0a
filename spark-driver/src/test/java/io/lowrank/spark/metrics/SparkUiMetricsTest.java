package io.lowrank.spark.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkSetup;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.prepare.PrepareJob;
import io.lowrank.spark.prepare.PrepareOptions;
import io.lowrank.spark.prepare.PrepareResult;
import io.lowrank.spark.prepare.PreparedDataset;
import io.lowrank.spark.train.DistributedTraining;
import io.lowrank.worker.train.RunConfig;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an operator reads while and after a run: the job descriptions and named accumulators in
 * the UI's REST API, and the live gauges of the driver plugin at {@code /metrics/prometheus}.
 */
class SparkUiMetricsTest {
    @Test
    void accumulatorsJobDescriptionsAndPrometheusGauges(@TempDir Path tmp) throws Exception {
        Path corpus = io.lowrank.spark.train.SparkTrainLocalTest.corpus(tmp);
        RunConfig rc = RunConfig.load("tiny", "cola").with(Map.of("model.hidden_size", "32", "model.intermediate_size", "64",
                "model.rank", "8", "train.seq_len", "16", "train.batch_size", "2", "train.steps", "4", "train.warmup_steps", "1"));
        System.setProperty("spark.ui.enabled", "true");
        System.setProperty("spark.ui.port", "0");
        SparkSession spark = SparkSetup.session("metrics-test", "local[2]", 1, 120);
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            RunDirectory run = new RunDirectory(tmp.resolve("run").toString(), jsc.hadoopConfiguration());
            run.create();
            PrepareResult prepared = PrepareJob.run(spark, new PrepareOptions().inputs(corpus.toString())
                    .output(tmp.resolve("data").toString()).tokenizer(rc.tokenizer()).seqLen(rc.seqLen()).valFraction(0.05));
            PreparedDataset ds = PreparedDataset.open(jsc.hadoopConfiguration(), prepared.dataset());
            DistributedTraining.Plan plan = new DistributedTraining.Plan("metrics", 7, rc, 2, 1, 2, 0, 0, 20_000, ds, -1, 0, "halt");
            DistributedTraining.Result r = new DistributedTraining(jsc, run, plan, new PrintStream(new ByteArrayOutputStream())).run();
            assertEquals(4, r.steps);

            String ui = spark.sparkContext().uiWebUrl().get();
            String app = spark.sparkContext().applicationId();
            JsonNode jobs = new ObjectMapper().readTree(get(ui + "/api/v1/applications/" + app + "/jobs"));
            boolean described = false;
            for (JsonNode j : jobs) described |= j.path("description").asText().startsWith("train steps 3-4 of 4, loss ");
            assertTrue(described, "the second chunk's job names its steps and the first chunk's loss: " + jobs);

            JsonNode stages = new ObjectMapper().readTree(get(ui + "/api/v1/applications/" + app + "/stages?details=false"));
            // a stage shows the accumulator's running total when it finished: the last chunk's is the run's
            long tokens = 0, steps = 0;
            for (JsonNode st : stages) {
                for (JsonNode a : st.path("accumulatorUpdates")) {
                    if (a.path("name").asText().equals("lowrank.tokens")) tokens = Math.max(tokens, Long.parseLong(a.path("value").asText()));
                    if (a.path("name").asText().equals("lowrank.steps")) steps = Math.max(steps, Long.parseLong(a.path("value").asText()));
                }
            }
            assertEquals(4L * 2 * 2 * 16, tokens, "tokens of all workers over the run");
            assertEquals(4, steps);

            String prom = get(ui + "/metrics/prometheus");
            String stepGauge = prom.lines().filter(l -> l.contains("LowrankPlugin_step_Value")).findFirst().orElse("");
            assertTrue(stepGauge.endsWith(" 4"), "live step gauge after the last step: '" + stepGauge + "'");
            assertTrue(prom.contains("LowrankPlugin_loss_Value"), prom);
        } finally {
            spark.stop();
            System.clearProperty("spark.ui.enabled");
            System.clearProperty("spark.ui.port");
        }
    }

    private static String get(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build().send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), url + " -> " + r.body());
        return r.body();
    }
}
