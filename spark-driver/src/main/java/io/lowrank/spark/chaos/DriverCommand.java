package io.lowrank.spark.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a {@code lowrank} driver JVM started by the soak: this JVM's java and class
 * path (bin/chaos-soak runs with bin/lowrank's class path, a test with Maven's), the project's JVM
 * options (conf/spark-jvm-options), and the same class path and options for the executor JVMs
 * that local-cluster starts (their SPARK_HOME/jars is empty).
 */
final class DriverCommand {
    private final List<String> prefix = new ArrayList<>();

    DriverCommand(Path home, String heap) throws IOException {
        String cp = System.getProperty("java.class.path");
        List<String> jvm = new ArrayList<>();
        for (String line : Files.readAllLines(home.resolve("conf/spark-jvm-options"))) {
            if (!line.isBlank() && !line.startsWith("#")) jvm.add(line.trim());
        }
        prefix.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        prefix.add("-Xmx" + heap);
        prefix.addAll(jvm);
        prefix.add("-Dlog4j2.configurationFile=" + home.resolve("conf/log4j2.properties"));
        prefix.add("-Dlowrank.home=" + home);
        prefix.add("-Dspark.executor.extraClassPath=" + cp);
        prefix.add("-Dspark.executor.extraJavaOptions=" + String.join(" ", jvm));
        prefix.add("-cp");
        prefix.add(cp);
        prefix.add("io.lowrank.spark.SparkMain");
    }

    List<String> train(List<String> args) {
        List<String> c = new ArrayList<>(prefix);
        c.addAll(args);
        return c;
    }
}
