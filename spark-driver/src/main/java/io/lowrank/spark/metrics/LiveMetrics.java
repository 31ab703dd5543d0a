package io.lowrank.spark.metrics;

import org.apache.spark.api.plugin.PluginContext;

/**
 * The executor JVM's link to the driver plugin. Spark creates one executor plugin per executor
 * JVM and gives tasks no handle to it, so the plugin leaves its context here; a training task
 * publishes through it and does nothing when the plugin is not enabled. Sending is fire-and-forget
 * (an RPC message of four numbers): a slow or restarting driver never stalls a training step.
 */
public final class LiveMetrics {
    private static volatile PluginContext context;

    private LiveMetrics() {}

    static void attach(PluginContext ctx) {
        context = ctx;
    }

    static void detach() {
        context = null;
    }

    public static void publish(StepUpdate update) {
        PluginContext ctx = context;
        if (ctx == null) return;
        try {
            ctx.send(update);
        } catch (Exception e) {
            // live numbers are best effort; the chunk's report carries the same numbers reliably
        }
    }
}
