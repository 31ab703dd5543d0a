package io.lowrank.spark.chaos;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code lowrank train} driver JVM of a local-cluster run and what the soak does to it. In
 * local-cluster mode the standalone Master and Worker live inside the driver JVM and the Worker
 * starts each executor as a child JVM ({@code CoarseGrainedExecutorBackend}), so the executors are
 * the driver's descendants with that main class; killing one is a SIGKILL to that process, and the
 * Worker (still alive in the driver) launches a replacement. The live step is read from the
 * driver's Prometheus endpoint (the plugin's {@code step} gauge, updated by rank 0 after each step).
 */
final class DriverProcess {
    static final String EXECUTOR_MAIN = "org.apache.spark.executor.CoarseGrainedExecutorBackend";
    private static final Pattern PROMETHEUS = Pattern.compile("Prometheus (http://\\S+)");
    private static final Pattern STEP_GAUGE = Pattern.compile("^(\\S*LowrankPlugin\\S*_step\\S*)\\s+([0-9.eE+-]+)\\s*$", Pattern.MULTILINE);
    private static final Pattern EXECUTOR_ID = Pattern.compile("--executor-id\\s+(\\S+)");

    /** An executor JVM: its process and Spark's executor id. */
    record Executor(ProcessHandle process, String id) {
    }

    private final Process process;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private String prometheus;

    private DriverProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static DriverProcess start(List<String> command, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Process p = pb.start();
        // a soak stopped from outside (Ctrl-C, SIGTERM) leaves no driver or executor JVM behind
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!p.isAlive()) return;
            List<ProcessHandle> children = p.descendants().toList();
            p.destroyForcibly();
            children.forEach(ProcessHandle::destroyForcibly);
        }, "chaos-soak-cleanup-" + p.pid()));
        return new DriverProcess(p, log);
    }

    long pid() { return process.pid(); }
    boolean isAlive() { return process.isAlive(); }
    int exitValue() { return process.exitValue(); }
    Path log() { return log; }

    boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        return process.waitFor(timeout, unit);
    }

    /** The executor JVMs alive now, by executor id. */
    List<Executor> executors() {
        List<Executor> out = new ArrayList<>();
        process.descendants().filter(ProcessHandle::isAlive).forEach(h -> {
            String cmd = commandLine(h);
            if (!cmd.contains(EXECUTOR_MAIN)) return;
            Matcher m = EXECUTOR_ID.matcher(cmd);
            out.add(new Executor(h, m.find() ? m.group(1) : "?"));
        });
        out.sort(Comparator.comparing((Executor e) -> e.id().length()).thenComparing(Executor::id));
        return out;
    }

    /**
     * The full command line: /proc/PID/cmdline, since ProcessHandle.Info.commandLine() stops at 4096
     * bytes on Linux, before an executor's main class (its class path alone is longer).
     */
    static String commandLine(ProcessHandle h) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException | UnsupportedOperationException e) {
            return h.info().commandLine().orElse("");   // gone meanwhile, or no /proc
        }
    }

    /** SIGKILL to one executor JVM; returns once it is gone (or after 30 s). */
    static void kill(Executor e) throws InterruptedException {
        e.process().destroyForcibly();
        try {
            e.process().onExit().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
            throw new IllegalStateException("executor " + e.id() + " (pid " + e.process().pid() + ") did not die within 30 s of SIGKILL", ex);
        }
    }

    /**
     * SIGKILL to the driver and every descendant (its executors), as a lost driver host would do:
     * the descendants are listed first, since they are re-parented once the driver is gone.
     * Returns how many descendants were killed.
     */
    int killTree() throws InterruptedException {
        List<ProcessHandle> children = process.descendants().toList();
        process.destroyForcibly();
        for (ProcessHandle h : children) h.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException("driver pid " + process.pid() + " did not die within 30 s of SIGKILL");
        for (ProcessHandle h : children) {
            try {
                h.onExit().get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
                throw new IllegalStateException("pid " + h.pid() + " (a child of the killed driver) did not die within 30 s of SIGKILL", ex);
            }
        }
        return children.size();
    }

    /** The step rank 0 last reported, or empty while the driver has no UI yet or is not answering. */
    OptionalLong liveStep() {
        try {
            if (prometheus == null) {
                if (!Files.isRegularFile(log)) return OptionalLong.empty();
                Matcher m = PROMETHEUS.matcher(Files.readString(log, StandardCharsets.ISO_8859_1));
                String found = null;
                while (m.find()) found = m.group(1);   // the newest line: this driver's, in a log shared by several
                if (found == null) return OptionalLong.empty();
                prometheus = found;
            }
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(prometheus)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) return OptionalLong.empty();
            return parseStepGauge(r.body());
        } catch (IOException e) {
            return OptionalLong.empty();   // not up yet, or just killed: the step is unknown at this moment
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalLong.empty();
        }
    }

    static OptionalLong parseStepGauge(String prometheusText) {
        Matcher m = STEP_GAUGE.matcher(prometheusText);
        return m.find() ? OptionalLong.of((long) Double.parseDouble(m.group(2))) : OptionalLong.empty();
    }
}
