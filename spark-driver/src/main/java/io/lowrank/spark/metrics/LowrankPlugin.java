package io.lowrank.spark.metrics;

import com.codahale.metrics.Gauge;
import io.lowrank.spark.train.ExecutorMediaDriver;
import io.lowrank.spark.train.ResidentWorkers;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

import java.util.Collections;
import java.util.Map;

/**
 * Live training numbers while a chunk runs. Accumulators reach the UI only when tasks end, and a
 * chunk's tasks run for minutes; so rank 0 sends a {@link StepUpdate} after every step through its
 * executor plugin, and the driver plugin exposes the latest as gauges ({@code step}, {@code loss},
 * {@code tokens_per_s}, {@code allreduce_busbw_gb_s}) in Spark's metrics system, where the
 * PrometheusServlet serves them at {@code /metrics/prometheus} (names
 * {@code metrics_<app>_driver_plugin_io_lowrank_spark_metrics_LowrankPlugin_<gauge>_Value}).
 * Enabled by {@code spark.plugins=io.lowrank.spark.metrics.LowrankPlugin}, which the train command
 * sets.
 */
public final class LowrankPlugin implements SparkPlugin {
    @Override
    public DriverPlugin driverPlugin() {
        return new Driver();
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new Executor();
    }

    static final class Driver implements DriverPlugin {
        private volatile StepUpdate latest = new StepUpdate(0, Double.NaN, 0, 0);

        @Override
        public Map<String, String> init(SparkContext sc, PluginContext ctx) {
            return Collections.emptyMap();
        }

        @Override
        public void registerMetrics(String appId, PluginContext ctx) {
            ctx.metricRegistry().register("step", (Gauge<Long>) () -> latest.step());
            ctx.metricRegistry().register("loss", (Gauge<Double>) () -> latest.loss());
            ctx.metricRegistry().register("tokens_per_s", (Gauge<Double>) () -> latest.tokensPerSecond());
            ctx.metricRegistry().register("allreduce_busbw_gb_s", (Gauge<Double>) () -> latest.allReduceBusGbPerS());
        }

        @Override
        public Object receive(Object message) {
            if (message instanceof StepUpdate u) latest = u;
            return null;
        }
    }

    /**
     * Also owns the executor's shared Aeron media driver ({@link ExecutorMediaDriver}) and the
     * workers kept between chunks ({@link ResidentWorkers}).
     */
    static final class Executor implements ExecutorPlugin {
        @Override
        public void init(PluginContext ctx, Map<String, String> extraConf) {
            LiveMetrics.attach(ctx);
            int cores = ctx.conf().getInt("spark.executor.cores", Runtime.getRuntime().availableProcessors());
            int taskCpus = ctx.conf().getInt("spark.task.cpus", 1);
            ExecutorMediaDriver.install(new ExecutorMediaDriver(Math.max(1, cores / Math.max(1, taskCpus))));
            ResidentWorkers.install(new ResidentWorkers());
        }

        @Override
        public void shutdown() {
            LiveMetrics.detach();
            try {
                ResidentWorkers.uninstall();
            } finally {
                ExecutorMediaDriver.uninstall();
            }
        }
    }
}
