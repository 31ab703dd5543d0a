package io.lowrank.k8s;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A Spark installation for deploy/kubernetes/submit.sh to run: {@code jars/} links to the Spark
 * jars of this test's classpath (spark-core, spark-kubernetes and what they need; not the test's
 * own libraries), and {@code bin/spark-submit} + {@code bin/spark-class} doing what Spark's own
 * scripts do: Spark's launcher library ({@code org.apache.spark.launcher.Main}) builds the JVM
 * command (module options, the driver's memory and Java options in client mode), which is then
 * run. SparkSubmit is therefore a child JVM, as it must be: its System.exit would stop the mock.
 */
final class SparkInstallation {
    private SparkInstallation() {}

    static Path create(Path home) throws IOException {
        Path jars = home.resolve("jars");
        Files.createDirectories(jars);
        // links of an earlier run (target/ outlives it) may name jars this classpath no longer wants
        try (java.util.stream.Stream<Path> old = Files.list(jars)) {
            for (Path p : (Iterable<Path>) old::iterator) Files.delete(p);
        }
        Files.createDirectories(home.resolve("bin"));
        // the launcher looks for jars/ next to a RELEASE file, as in a binary distribution
        Files.writeString(home.resolve("RELEASE"), "Spark 4.2.0 (jars linked from the Maven test classpath)\n");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : cp.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String name = p.getFileName().toString();
            if (!name.endsWith(".jar") || isTestOnly(name) || isProjectModule(name)) continue;
            Path link = jars.resolve(name);
            if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, p);
        }
        script(home.resolve("bin/spark-submit"), """
                #!/usr/bin/env bash
                # Spark's bin/spark-submit, reduced to what a test installation needs
                export PYTHONHASHSEED=0
                exec "$(dirname "$0")"/spark-class org.apache.spark.deploy.SparkSubmit "$@"
                """);
        script(home.resolve("bin/spark-class"), """
                #!/usr/bin/env bash
                # Spark's bin/spark-class: the launcher library prints messages, a NUL line, then the
                # command NUL-separated, then its exit code
                set -euo pipefail
                export SPARK_HOME="${SPARK_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
                RUNNER="${JAVA_HOME:?JAVA_HOME}/bin/java"
                build_command() {
                  "$RUNNER" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main "$@"
                  printf "%d\\0" $?
                }
                CMD=()
                DELIM=$'\\n'
                CMD_START_FLAG="false"
                while IFS= read -d "$DELIM" -r _ARG; do
                  ARG=${_ARG//$'\\r'}
                  if [ "$CMD_START_FLAG" == "true" ]; then
                    CMD+=("$ARG")
                  elif [ "$ARG" == $'\\0' ]; then
                    DELIM=''
                    CMD_START_FLAG="true"
                  elif [ "$ARG" != "" ]; then
                    echo "$ARG"
                  fi
                done < <(build_command "$@")
                COUNT=${#CMD[@]}
                LAST=$((COUNT - 1))
                LAUNCHER_EXIT_CODE=${CMD[$LAST]}
                if [ "$LAUNCHER_EXIT_CODE" != 0 ]; then exit "$LAUNCHER_EXIT_CODE"; fi
                exec "${CMD[@]:0:$LAST}"
                """);
        return home;
    }

    private static boolean isTestOnly(String jar) {
        for (String t : new String[]{"junit", "opentest4j", "apiguardian", "kubernetes-server-mock", "mockwebserver", "surefire"}) {
            if (jar.contains(t)) return true;
        }
        return false;
    }

    /**
     * The project's own module jars: the build-order dependency on spark-driver puts its thin jar on
     * this test's classpath once the reactor has packaged it (a full mvn verify; with -pl ... test it
     * is a classes directory and skipped above). In jars/ it would shadow the application jar the
     * driver must run, and load SparkMain without the dependencies the shaded jar carries.
     */
    private static boolean isProjectModule(String jar) {
        for (String m : new String[]{"spark-driver-", "worker-runtime-", "native-kernels-"}) {
            if (jar.startsWith(m)) return true;
        }
        return false;
    }

    private static void script(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
