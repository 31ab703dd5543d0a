package io.lowrank.yarn;

import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;

/**
 * Runs {@code deploy/yarn/submit.sh} as an operator would, against {@link MiniYarnHdfs}.
 * <p>
 * There is no Spark distribution here, so the test lays one out: {@code SPARK_HOME/jars} empty, and
 * {@code SPARK_HOME/bin/spark-submit} doing what Spark's {@code bin/spark-class} does (ask Spark's
 * own launcher, {@code org.apache.spark.launcher.Main}, for the JVM command line and exec it). The
 * Spark and Hadoop client jars come from this test's classpath through {@code SPARK_DIST_CLASSPATH},
 * as in Spark's "Hadoop free" builds; the launcher then adds HADOOP_CONF_DIR and the driver's
 * options itself. Containers run on this host, so they get the same jars as extraClassPath and an
 * empty {@code spark.yarn.jars} (nothing to upload), as Spark's own YARN suites do.
 */
final class YarnSubmit {
    private static final String SPARK_SUBMIT = """
            #!/usr/bin/env bash
            # What Spark's bin/spark-submit + bin/spark-class do: Spark's launcher prints the driver JVM's command line
            # (classpath = SPARK_HOME/jars, HADOOP_CONF_DIR, SPARK_DIST_CLASSPATH; driver memory, options), NUL-separated.
            build_command() {
              "$JAVA_HOME/bin/java" -Xmx128m -cp "$SPARK_DIST_CLASSPATH" org.apache.spark.launcher.Main org.apache.spark.deploy.SparkSubmit "$@"
              printf "%d\\0" $?
            }
            CMD=()
            DELIM=$'\\n'
            CMD_START_FLAG=false
            while IFS= read -d "$DELIM" -r ARG; do
              if [ "$CMD_START_FLAG" = true ]; then
                CMD+=("$ARG")
              elif [ -z "$ARG" ]; then
                # the launcher's NUL + newline: the command follows, NUL-separated
                DELIM=''
                CMD_START_FLAG=true
              else
                echo "$ARG"
              fi
            done < <(build_command "$@")
            LAST=$((${#CMD[@]} - 1))
            RC=${CMD[$LAST]}
            if [ "$RC" != 0 ]; then exit "$RC"; fi
            exec "${CMD[@]:0:$LAST}"
            """;

    private final MiniYarnHdfs cluster;
    private final Path root;
    private final Path sparkHome;
    private final Path work;
    private final String distClasspath;
    private final Path emptyJar;
    private final YarnClient yarn;
    private int submissions;

    YarnSubmit(MiniYarnHdfs cluster, Path root, Path work) throws IOException {
        this.cluster = cluster;
        this.root = root;
        this.work = work;
        this.sparkHome = work.resolve("spark-home");
        Files.createDirectories(sparkHome.resolve("jars"));
        Files.createDirectories(sparkHome.resolve("bin"));
        // an installation's conf/: the project's log settings (WARN), as deploy/README.md tells users to copy them
        Files.createDirectories(sparkHome.resolve("conf"));
        Files.copy(root.resolve("conf/log4j2.properties"), sparkHome.resolve("conf/log4j2.properties"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path submit = sparkHome.resolve("bin/spark-submit");
        Files.writeString(submit, SPARK_SUBMIT);
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        this.emptyJar = work.resolve("empty.jar");
        try (JarOutputStream ignored = new JarOutputStream(Files.newOutputStream(emptyJar))) {
            // spark.yarn.jars=local:<this>: the Spark jars are already on every node (extraClassPath)
        }
        this.distClasspath = sparkAndHadoopClasspath();
        this.yarn = YarnClient.createYarnClient();
        yarn.init(cluster.conf());
        yarn.start();
    }

    /**
     * The test classpath minus what is not part of a Spark installation: the project's own modules
     * (the application comes from its shaded jar only), the mini clusters, JUnit and Surefire.
     */
    private String sparkAndHadoopClasspath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String rootDir = root.toAbsolutePath().normalize().toString();
        return List.of(cp.split(File.pathSeparator)).stream()
                .filter(e -> !Path.of(e).toAbsolutePath().normalize().startsWith(rootDir))
                .filter(e -> !e.contains("hadoop-client-minicluster") && !e.contains("junit") && !e.contains("opentest4j")
                        && !e.contains("apiguardian") && !e.contains("surefire"))
                .collect(Collectors.joining(File.pathSeparator));
    }

    YarnClient yarnClient() { return yarn; }

    /** A running submission: the script's process, its logs, and (once YARN has it) the application. */
    final class Submission {
        final Process process;
        final Path stdout, stderr;
        final Set<ApplicationId> before;
        ApplicationId appId;

        Submission(Process process, Path stdout, Path stderr, Set<ApplicationId> before) {
            this.process = process;
            this.stdout = stdout;
            this.stderr = stderr;
            this.before = before;
        }

        /** Waits until the ResourceManager lists the new application. */
        ApplicationId awaitApplication(Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (appId == null) {
                for (ApplicationReport r : yarn.getApplications()) {
                    if (!before.contains(r.getApplicationId())) appId = r.getApplicationId();
                }
                if (appId != null) break;
                if (!process.isAlive() && process.exitValue() != 0) {
                    throw new AssertionError("submit.sh exited " + process.exitValue() + " before YARN had the application:\n" + tail(stderr, 40));
                }
                if (System.nanoTime() > deadline) throw new AssertionError("no application at the ResourceManager after " + timeout + "\n" + tail(stderr, 40));
                Thread.sleep(200);   // the RM offers no listener to a client: poll
            }
            return appId;
        }

        /** Waits for submit.sh to exit; returns its exit code. */
        int await(Duration timeout) throws Exception {
            if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError("submit.sh did not finish in " + timeout + "; stderr tail:\n" + tail(stderr, 60));
            }
            if (appId == null) awaitApplication(Duration.ofSeconds(5));
            return process.exitValue();
        }

        ApplicationReport report() throws Exception {
            return yarn.getApplicationReport(appId);
        }

        /** Waits until YARN has finished the application, whatever the client process did. */
        ApplicationReport awaitFinished(Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            EnumSet<YarnApplicationState> done = EnumSet.of(YarnApplicationState.FINISHED, YarnApplicationState.FAILED, YarnApplicationState.KILLED);
            while (true) {
                ApplicationReport r = report();
                if (done.contains(r.getYarnApplicationState())) return r;
                if (System.nanoTime() > deadline) throw new AssertionError(appId + " still " + r.getYarnApplicationState() + " after " + timeout);
                Thread.sleep(200);
            }
        }

        String stdoutText() throws IOException { return Files.readString(stdout); }

        String diagnostics() throws IOException {
            return "stdout tail:\n" + tail(stdout, 20) + "\nstderr tail:\n" + tail(stderr, 60);
        }
    }

    /**
     * Runs {@code deploy/yarn/submit.sh OPTIONS... COMMAND...} with the cluster's HADOOP_CONF_DIR and
     * the test's Spark home; {@code options} are the script's own (deploy mode, executors...).
     */
    Submission start(List<String> options, List<String> command) throws Exception {
        return start(options, command, Map.of());
    }

    Submission start(List<String> options, List<String> command, Map<String, String> extraEnv) throws Exception {
        int n = ++submissions;
        String cp = distClasspath;
        List<String> cmd = new ArrayList<>(List.of(root.resolve("deploy/yarn/submit.sh").toString()));
        cmd.addAll(options);
        // what only this test cluster needs: the jars are on the node already, and tests must not wait on retries
        for (String conf : List.of("spark.yarn.jars=local:" + emptyJar,
                "spark.driver.extraClassPath=" + cp, "spark.executor.extraClassPath=" + cp,
                "spark.ui.enabled=false",
                "spark.yarn.submit.waitAppCompletion=true",
                "spark.yarn.report.interval=500ms")) {
            cmd.add("--conf");
            cmd.add(conf);
        }
        cmd.addAll(command);
        Path out = work.resolve("submit-" + n + ".out"), err = work.resolve("submit-" + n + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        env.put("HADOOP_CONF_DIR", cluster.confDir().toString());
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_DIST_CLASSPATH", cp);
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.putAll(extraEnv);
        Set<ApplicationId> before = new HashSet<>();
        for (ApplicationReport r : yarn.getApplications()) before.add(r.getApplicationId());
        return new Submission(pb.start(), out, err, before);
    }

    static String tail(Path file, int lines) throws IOException {
        if (!Files.exists(file)) return "(no " + file + ")";
        List<String> l = Files.readAllLines(file);
        return String.join("\n", l.subList(Math.max(0, l.size() - lines), l.size()));
    }

    void close() {
        yarn.stop();
    }
}
