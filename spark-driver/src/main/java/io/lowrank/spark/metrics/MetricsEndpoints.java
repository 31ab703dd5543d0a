package io.lowrank.spark.metrics;

import org.apache.spark.SparkContext;
import org.apache.spark.ui.SparkUI;
import scala.Option;

import java.lang.reflect.Method;

/**
 * Makes the UI's metrics servlets answer at their configured path itself ({@code /metrics/prometheus},
 * the path the documentation and {@code spark.metrics.conf.*.sink.prometheusServlet.path} give), not
 * only below it. Spark mounts each servlet as a Jetty context at that path, and Jetty answers a
 * request for a context's bare path with a 301 to the path plus "/" and an empty body: a browser or
 * {@code curl -L} follows it, a plain {@code curl} or a scraper told not to follow redirects gets
 * nothing. Jetty's "null path in context" setting serves the bare path directly.
 * <p>
 * Spark shades Jetty under its own package, which changes between Spark releases (Jetty 11 in
 * Spark 4.0, Jetty 12 ee10 in 4.2), so the setting is made by name: on a Spark whose Jetty has no
 * such setting the redirect stays, and {@link #serveBarePaths} counts the contexts left so.
 */
public final class MetricsEndpoints {
    private MetricsEndpoints() {}

    /**
     * @return how many of the UI's {@code /metrics/*} contexts still redirect their bare path (0 when
     *         all of them answer there, or when the UI is off or has none)
     */
    public static int serveBarePaths(SparkContext sc) {
        Option<SparkUI> ui = sc.ui();
        if (ui.isEmpty()) return 0;
        int unchanged = 0;
        scala.collection.Iterator<?> handlers = ui.get().getHandlers().iterator();
        while (handlers.hasNext()) {
            Object handler = handlers.next();
            try {
                Object path = handler.getClass().getMethod("getContextPath").invoke(handler);
                if (!(path instanceof String p) || !p.startsWith("/metrics/")) continue;
                Method allowNullPath = nullPathSetter(handler.getClass());
                if (allowNullPath == null) {
                    unchanged++;
                    continue;
                }
                allowNullPath.invoke(handler, true);
            } catch (ReflectiveOperationException e) {
                // this Spark's Jetty differs: the redirect to "path/" stays, which browsers and curl -L follow
                unchanged++;
            }
        }
        return unchanged;
    }

    private static Method nullPathSetter(Class<?> handlerClass) {
        for (String name : new String[]{"setAllowNullPathInContext", "setAllowNullPathInfo"}) {
            try {
                return handlerClass.getMethod(name, boolean.class);
            } catch (NoSuchMethodException e) {
                // Jetty 12 names it ...InContext, Jetty 9-11 ...Info
            }
        }
        return null;
    }
}
