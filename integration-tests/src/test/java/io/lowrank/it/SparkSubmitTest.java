package io.lowrank.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code spark-submit} of the shaded application jar, as an operator runs it: Spark's own
 * SparkSubmit entry point on a classpath of nothing but Spark's jars (laid out as a Spark
 * installation's {@code jars/} directory), the application from the jar alone, executors in
 * separate JVMs ({@code local-cluster}) that fetch the jar from the driver, Kryo with registration
 * required.
 */
class SparkSubmitTest {

    /** A Spark installation: SPARK_HOME/jars holding links to the Spark jars of this test's classpath. */
    static Path sparkHome() throws IOException {
        Path home = Path.of(System.getenv("SPARK_HOME"));
        Path jars = home.resolve("jars");
        Files.createDirectories(jars);
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String name = p.getFileName().toString();
            if (!name.endsWith(".jar") || entry.contains("junit") || entry.contains("opentest4j") || entry.contains("apiguardian")
                    || entry.contains("/io/lowrank/") || entry.contains("spark-driver")) continue;
            Path link = jars.resolve(name);
            if (!Files.exists(link)) Files.createSymbolicLink(link, p);
        }
        return home;
    }

    static List<String> jvmOptions() throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(System.getProperty("lowrank.conf.dir"), "spark-jvm-options"))) {
            if (!line.isBlank() && !line.startsWith("#")) out.add(line.trim());
        }
        return out;
    }

    static Path corpus(Path dir) throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        String[] words = {"spark", "submit", "barrier", "stage", "ring", "gradient", "low", "rank", "model", "token"};
        StringBuilder sb = new StringBuilder();
        for (int doc = 0; doc < 80; doc++) {
            for (int w = 0; w < 50; w++) sb.append(words[r.nextInt(words.length)]).append(' ');
            sb.append("\n\n");
        }
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, sb);
        return f;
    }

    @Test
    void sparkSubmitOfTheApplicationJarTrainsOnSeparateExecutorJvms(@TempDir Path tmp) throws Exception {
        Path appJar = Path.of(System.getProperty("lowrank.app.jar"));
        assertTrue(Files.isRegularFile(appJar), appJar + " is built by spark-driver's package phase");
        Path home = sparkHome();
        String opts = String.join(" ", jvmOptions());
        Path runDir = tmp.resolve("run");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g"));
        cmd.addAll(jvmOptions());
        cmd.addAll(List.of("-cp", home.resolve("jars") + "/*", "org.apache.spark.deploy.SparkSubmit",
                "--master", "local-cluster[2,1,2048]", "--class", "io.lowrank.spark.SparkMain",
                "--conf", "spark.executor.extraJavaOptions=" + opts,
                "--conf", "spark.ui.enabled=false",
                appJar.toString(),
                "train", "--preset", "tiny", "--layer", "cola", "--workers", "2", "--threads", "1", "--steps", "4",
                "--chunk-steps", "2", "--batch", "2", "--set", "train.seq_len=32", "--set", "train.warmup_steps=1",
                "--set", "model.hidden_size=32", "--set", "model.intermediate_size=64", "--set", "model.rank=8",
                "--corpus", corpus(tmp).toString(), "--run-dir", runDir.toString()));
        Path log = tmp.resolve("spark-submit.log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).redirectOutput(tmp.resolve("stdout.txt").toFile()).start();
        boolean done = p.waitFor(400, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String stdout = Files.readString(tmp.resolve("stdout.txt"));
        assertTrue(done, "spark-submit did not finish in 400 s; stdout:\n" + stdout);
        assertEquals(0, p.exitValue(), "spark-submit failed; stdout:\n" + stdout + "\nstderr tail:\n" + tail(log));
        String[] lines = stdout.trim().split("\n");
        JsonNode r = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals(2, r.get("workers").asInt());
        assertEquals(4, r.get("steps").asLong());
        assertTrue(r.get("app_id").asText().startsWith("app-"), r.toString());
        assertTrue(r.get("final_loss").asDouble() < r.get("initial_loss").asDouble(), r.toString());
        assertTrue(Files.isRegularFile(runDir.resolve("step-00000004").resolve("model.safetensors")));
    }

    static String tail(Path log) throws IOException {
        List<String> l = Files.readAllLines(log);
        return String.join("\n", l.subList(Math.max(0, l.size() - 40), l.size()));
    }
}
