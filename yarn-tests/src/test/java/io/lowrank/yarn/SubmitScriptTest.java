package io.lowrank.yarn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code deploy/yarn/submit.sh} without a cluster: what it refuses (no HADOOP_CONF_DIR, no
 * application jar) and the spark-submit command it builds ({@code --dry-run}). That the command
 * works is {@link YarnTrainingTest}'s job.
 */
class SubmitScriptTest {
    private static final Path ROOT = Path.of(System.getProperty("lowrank.root")).toAbsolutePath().normalize();

    record Result(int rc, String stdout, String stderr) {}

    static Result run(Path script, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(script.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("HADOOP_CONF_DIR");
        pb.environment().remove("YARN_CONF_DIR");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "submit.sh did not return");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes()), new String(p.getErrorStream().readAllBytes()));
    }

    /** A Hadoop client configuration directory and a Spark home with an executable bin/spark-submit. */
    static Map<String, String> env(Path tmp) throws IOException {
        Path conf = Files.createDirectories(tmp.resolve("hadoop-conf"));
        Files.writeString(conf.resolve("yarn-site.xml"), "<configuration/>\n");
        Path bin = Files.createDirectories(tmp.resolve("spark/bin"));
        Path submit = bin.resolve("spark-submit");
        Files.writeString(submit, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        return Map.of("HADOOP_CONF_DIR", conf.toString(), "SPARK_HOME", tmp.resolve("spark").toString());
    }

    @Test
    void refusesWithoutHadoopConfDir(@TempDir Path tmp) throws Exception {
        Map<String, String> env = new java.util.HashMap<>(env(tmp));
        env.remove("HADOOP_CONF_DIR");
        Result r = run(ROOT.resolve("deploy/yarn/submit.sh"), env, "train", "--resume", "hdfs:///runs/r1");
        assertEquals(2, r.rc(), r.stderr());
        assertTrue(r.stderr().contains("HADOOP_CONF_DIR is not set"), r.stderr());
        assertTrue(r.stderr().contains("core-site.xml and yarn-site.xml"), "says what the directory must hold: " + r.stderr());
        assertEquals("", r.stdout());
    }

    @Test
    void refusesWithoutTheApplicationJar(@TempDir Path tmp) throws Exception {
        // the script finds the jar relative to its own location: a copy in a tree without a build
        Path script = Files.createDirectories(tmp.resolve("tree/deploy/yarn")).resolve("submit.sh");
        Files.copy(ROOT.resolve("deploy/yarn/submit.sh"), script);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Result r = run(script, env(tmp), "train", "--resume", "hdfs:///runs/r1");
        assertEquals(2, r.rc(), r.stderr());
        assertTrue(r.stderr().contains("application jar not found: " + tmp.resolve("tree") + "/spark-driver/target/lowrank-spark-app-*.jar"), r.stderr());
        assertTrue(r.stderr().contains("mvn -DskipTests package"), "says how to build it: " + r.stderr());
    }

    @Test
    void dryRunPrintsWhatARealClusterNeeds(@TempDir Path tmp) throws Exception {
        Path jars = ROOT.resolve("spark-driver/target");
        assertTrue(Files.list(jars).anyMatch(p -> p.getFileName().toString().matches("lowrank-spark-app-.*\\.jar")),
                "spark-driver's package phase builds the application jar before this module's tests");
        Result r = run(ROOT.resolve("deploy/yarn/submit.sh"), env(tmp), "--dry-run", "--queue", "research", "--gpus", "1",
                "--executor-cores", "4", "train", "--preset", "60m", "--workers", "3", "--run-dir", "hdfs:///runs/r1");
        assertEquals(0, r.rc(), r.stderr());
        String c = r.stdout();
        for (String expected : List.of("--master yarn", "--deploy-mode cluster", "--queue research", "--num-executors 3",
                "--executor-cores 4", "spark.executor.memoryOverhead=16g", "spark.task.cpus=4", "spark.yarn.maxAppAttempts=1",
                "spark.dynamicAllocation.enabled=false",
                "spark.executor.extraJavaOptions=--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
                "spark.driver.extraJavaOptions=--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
                "spark.executor.resource.gpu.amount=1", "spark.task.resource.gpu.amount=1",
                "spark.yarn.resourceGpuDeviceName=yarn.io/gpu",
                "spark.executor.resource.gpu.discoveryScript=" + ROOT + "/deploy/gpu/discover-gpus.sh",
                "--class io.lowrank.spark.SparkMain", "train --preset 60m --workers 3 --run-dir hdfs:///runs/r1 --threads 4")) {
            assertTrue(c.replace("\\ ", " ").contains(expected), "dry run lacks '" + expected + "':\n" + c);
        }
        // cluster mode: the AM is the driver, so no spark.yarn.am.* options (Spark would warn they are ignored)
        assertFalse(c.contains("spark.yarn.am.extraJavaOptions"), c);
    }

    @Test
    void rejectsAnUnknownOptionBeforeTheCommand(@TempDir Path tmp) throws Exception {
        Result r = run(ROOT.resolve("deploy/yarn/submit.sh"), env(tmp), "--executor-count", "2", "train");
        assertEquals(2, r.rc());
        assertTrue(r.stderr().contains("unknown option --executor-count"), r.stderr());
        r = run(ROOT.resolve("deploy/yarn/submit.sh"), env(tmp), "--gpus", "2", "train");
        assertEquals(2, r.rc());
        assertTrue(r.stderr().contains("--gpus must be 0 or 1, got '2'"), r.stderr());
    }
}
