package io.lowrank.spark.cli;

import io.lowrank.spark.metrics.LowrankPlugin;
import io.lowrank.spark.metrics.MetricsEndpoints;
import io.lowrank.spark.serde.LowrankKryoRegistrator;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Spark settings lowrank-spark needs, applied as defaults: whatever spark-submit or
 * spark-defaults.conf already set wins.
 */
public final class SparkSetup {
    /** Executors need this for Aeron/Agrona (Spark does not add it); the driver JVM gets it from bin/lowrank or spark-submit. */
    public static final String EXECUTOR_JVM_OPTIONS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED";
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)(?:,\\s*(\\d+))?\\]|local");

    private SparkSetup() {}

    /** As {@link #session(String, String, int, long, int)} with no GPUs requested. */
    public static SparkSession session(String appName, String master, int threadsPerTask, long barrierTimeoutS) {
        return session(appName, master, threadsPerTask, barrierTimeoutS, 0);
    }

    /**
     * @param master         --master, or null when spark-submit set it
     * @param threadsPerTask compute threads of one worker (becomes spark.task.cpus and OMP_NUM_THREADS)
     * @param gpusPerTask    GPUs of one worker's task (0 or 1): spark.task.resource.gpu.amount, and one GPU per executor
     *                       unless spark-submit or the deploy scripts asked for more (their discovery script tells Spark the addresses)
     */
    public static SparkSession session(String appName, String master, int threadsPerTask, long barrierTimeoutS, int gpusPerTask) {
        return session(appName, master, threadsPerTask, barrierTimeoutS, gpusPerTask, java.util.Map.of());
    }

    /** As above, with {@code defaults} applied first (they win over this class's own defaults, spark-submit's settings win over both). */
    public static SparkSession session(String appName, String master, int threadsPerTask, long barrierTimeoutS, int gpusPerTask,
                                       java.util.Map<String, String> defaults) {
        SparkConf conf = baseConf(appName, master);
        defaults.forEach(conf::setIfMissing);
        if (gpusPerTask > 0) {
            conf.setIfMissing("spark.task.resource.gpu.amount", Integer.toString(gpusPerTask));
            conf.setIfMissing("spark.executor.resource.gpu.amount", Integer.toString(gpusPerTask));
        }
        conf.setIfMissing("spark.task.cpus", Integer.toString(threadsPerTask));
        conf.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(threadsPerTask));
        conf.setIfMissing("spark.executorEnv.OMP_WAIT_POLICY", "PASSIVE");
        // OpenBLAS workers would otherwise spin ~2^28 cycles after each gemm on the cores the
        // native kernels' threads need next (see bin/lowrank)
        conf.setIfMissing("spark.executorEnv.OPENBLAS_THREAD_TIMEOUT", "4");
        conf.setIfMissing("spark.barrier.sync.timeout", barrierTimeoutS + "s");
        // barrier stages need all slots at once; wait a while for executors to register before failing
        conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "5s");
        conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "24");
        conf.setIfMissing("spark.dynamicAllocation.enabled", "false");
        appendToList(conf, "spark.plugins", LowrankPlugin.class.getName());
        // the driver's metrics (the plugin's gauges among them) at <ui>/metrics/prometheus
        conf.setIfMissing("spark.metrics.conf.*.sink.prometheusServlet.class", "org.apache.spark.metrics.sink.PrometheusServlet");
        conf.setIfMissing("spark.metrics.conf.*.sink.prometheusServlet.path", "/metrics/prometheus");
        conf.setIfMissing("spark.ui.prometheus.enabled", "true");
        String extra = conf.get("spark.executor.extraJavaOptions", "");
        if (!extra.contains("jdk.internal.misc")) conf.set("spark.executor.extraJavaOptions", (extra + " " + EXECUTOR_JVM_OPTIONS).trim());
        SparkSession session = SparkSession.builder().config(conf).getOrCreate();
        // /metrics/prometheus itself answers with the gauges (Jetty would 301 it to /metrics/prometheus/)
        if (MetricsEndpoints.serveBarePaths(session.sparkContext()) > 0) {
            System.err.println("lowrank: this Spark's UI answers /metrics/prometheus with a redirect; scrape /metrics/prometheus/ (with the slash)");
        }
        return session;
    }

    /**
     * Where to watch a running application: the Spark UI (its real bound port, from
     * {@code SparkContext.uiWebUrl}), the driver's Prometheus metrics (the plugin's live gauges among
     * them) and the REST API of this application. Empty when the UI is disabled.
     */
    public record Urls(String ui, String prometheus, String rest) {
        /** One line for the start of a run. */
        public String line() {
            return "watch: Spark UI " + ui + "  |  Prometheus " + prometheus + "  |  REST " + rest;
        }
    }

    public static java.util.Optional<Urls> urls(org.apache.spark.SparkContext sc) {
        if (sc.uiWebUrl().isEmpty()) return java.util.Optional.empty();
        String ui = sc.uiWebUrl().get();
        // the documented path: MetricsEndpoints makes it answer itself instead of Jetty's 301 to ".../"
        return java.util.Optional.of(new Urls(ui, ui + "/metrics/prometheus", ui + "/api/v1/applications/" + sc.applicationId()));
    }

    /**
     * What every lowrank Spark application needs (train and prepare): the master ({@code --master},
     * else spark-submit's, else all local cores), the app name, and Kryo with registration required
     * and {@link LowrankKryoRegistrator} next to any registrator already configured.
     */
    public static SparkConf baseConf(String appName, String master) {
        SparkConf conf = new SparkConf();
        if (master != null) conf.setMaster(master);
        if (!conf.contains("spark.master")) conf.setMaster("local[" + Runtime.getRuntime().availableProcessors() + "]");
        conf.setIfMissing("spark.app.name", appName);
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.setIfMissing("spark.kryo.registrationRequired", "true");
        appendToList(conf, "spark.kryo.registrator", LowrankKryoRegistrator.class.getName());
        return conf;
    }

    /** Adds {@code value} to the comma-separated list {@code key} unless it is there already. */
    private static void appendToList(SparkConf conf, String key, String value) {
        String list = conf.get(key, "");
        if (!list.contains(value)) conf.set(key, list.isEmpty() ? value : list + "," + value);
    }

    /** Task slots of a local master ({@code local[N]} -> N), or -1 when the master is not local. */
    public static int localSlots(String master) {
        if (master == null) return -1;
        Matcher m = LOCAL.matcher(master.trim());
        if (!m.matches()) return -1;
        if (m.group(1) == null) return 1;
        return m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
    }
}
