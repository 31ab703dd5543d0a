package io.lowrank.spark.train;

import io.lowrank.worker.comm.EmbeddedMediaDriver;
import io.lowrank.worker.comm.RingConfig;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The executor JVM's Aeron media driver, shared by every ring the JVM's tasks join, across chunks:
 * one driver per executor instead of one per task and chunk (fewer threads competing with the
 * trainers, no driver start-up per chunk). The executor plugin
 * ({@link io.lowrank.spark.metrics.LowrankPlugin}) owns it: it installs one at executor start and
 * closes it at executor shutdown, and the driver itself starts on first use. Without the plugin,
 * or for a ring whose transport settings differ from the running driver's, {@link #directoryFor}
 * answers null and the ring starts a driver of its own.
 */
public final class ExecutorMediaDriver implements AutoCloseable {
    private static volatile ExecutorMediaDriver installed;
    private static final AtomicInteger LAUNCHES = new AtomicInteger();

    private final int concurrentRings;
    private EmbeddedMediaDriver driver;
    private String settingsKey;

    /** @param concurrentRings how many tasks of this executor can be in a ring at once (its task slots) */
    public ExecutorMediaDriver(int concurrentRings) {
        this.concurrentRings = Math.max(1, concurrentRings);
    }

    public static void install(ExecutorMediaDriver d) {
        installed = d;
    }

    public static void uninstall() {
        ExecutorMediaDriver d = installed;
        installed = null;
        if (d != null) d.close();
    }

    /** Drivers this JVM has started through this class (for tests and logs). */
    public static int launches() {
        return LAUNCHES.get();
    }

    /** The shared driver's directory for a ring of {@code config}, or null when the ring must bring its own. */
    static String directoryFor(RingConfig config) {
        ExecutorMediaDriver d = installed;
        return d == null ? null : d.acquire(config);
    }

    private synchronized String acquire(RingConfig config) {
        String key = key(config);
        if (driver == null) {
            driver = EmbeddedMediaDriver.launch(EmbeddedMediaDriver.Settings.forRing(config).expectedLogBuffers(2 * concurrentRings));
            settingsKey = key;
            LAUNCHES.incrementAndGet();
        }
        return key.equals(settingsKey) ? driver.aeronDirectoryName() : null;
    }

    /** What the driver's configuration is derived from (see {@link EmbeddedMediaDriver.Settings#forRing}). */
    private static String key(RingConfig c) {
        return c.mtu() + "/" + c.termLength() + "/" + c.socketBufferBytes() + "/" + c.receiverWindowBytes() + "/" + c.peerTimeoutNs();
    }

    @Override
    public synchronized void close() {
        if (driver != null) driver.close();
        driver = null;
    }
}
