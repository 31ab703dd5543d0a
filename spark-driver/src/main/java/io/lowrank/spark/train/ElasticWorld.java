package io.lowrank.spark.train;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The driver's side of {@code --elastic MIN..MAX}: how many barrier slots the cluster has right
 * now, the world size of the next chunk ({@link #next}), and a watch over a running chunk that
 * cancels it when an executor is lost for good ({@link #watch}).
 *
 * <p>Why a watch is needed: when an executor dies in the middle of a chunk, Spark fails the barrier
 * stage and resubmits it with the same W tasks; the slot check that refuses a barrier job with too
 * few slots runs only when a job is submitted, so the resubmitted stage waits for W free slots
 * forever (the task scheduler skips every offer with fewer). The watch sees the slots stay below W
 * for the grace period and cancels the chunk's job group; the driver's retry path then picks a
 * smaller W.
 *
 * <p>Changes are signalled by a {@link SparkListener} (executor added / removed); every wait is a
 * condition wait on that signal with a deadline, and the slots are re-counted after each signal.
 */
public final class ElasticWorld implements AutoCloseable {
    /**
     * @param range         --elastic MIN..MAX
     * @param maxMicroBatch the largest per-worker micro-batch known to fit (the run's own when elastic was enabled)
     * @param waitMs        how long to wait for enough slots for a world size in the range before failing
     * @param graceMs       how long the slots may stay below the current world size before the run shrinks
     */
    public record Settings(ElasticRange range, int maxMicroBatch, long waitMs, long graceMs) { }

    /** The next chunk's world size, the slots counted, and what changed since the last decision. */
    public record Decision(int workers, int slots, String events) { }

    private final Settings settings;
    private final IntSupplier slots;
    private final String fixedMaster;   // local[N]: its slots never change; null on a cluster
    private final Runnable onClose;
    final ExecutorEvents events = new ExecutorEvents();
    private long decided;   // events up to this version are explained by the last decision
    /**
     * Waits end at the latest after this long and the slots are counted again: they can also change
     * without an executor event (an executor marked for removal or decommissioning drops out at once,
     * its removal event follows later).
     */
    private static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

    public ElasticWorld(SparkContext sc, Settings settings) {
        // The number the barrier scheduler itself checks: executors that are alive and not being removed
        // x floor(their cores / spark.task.cpus) (local[N]: N / spark.task.cpus). Spark keeps this method
        // package-private in Scala (public in the bytecode); counting cores from listener events instead
        // would miss the executors registered before the listener was added.
        this(settings, () -> sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile()),
                sc.isLocal() ? sc.master() : null, sc::addSparkListener, sc::removeSparkListener);
    }

    /** The decisions over any slot count (tests drive {@link #events} themselves). */
    ElasticWorld(Settings settings, IntSupplier slots, String fixedMaster,
                 java.util.function.Consumer<SparkListener> register, java.util.function.Consumer<SparkListener> unregister) {
        this.settings = settings;
        this.slots = slots;
        this.fixedMaster = fixedMaster;
        register.accept(events);
        this.onClose = () -> unregister.accept(events);
    }

    public Settings settings() {
        return settings;
    }

    public int slots() {
        return slots.getAsInt();
    }

    /**
     * The world size of the next chunk: the largest in [min, min(max, slots)] that keeps the global
     * batch exactly. Growing is immediate; shrinking below {@code current} waits up to {@code graceMs}
     * for the slots to return (executors still registering at the start of an application, or one
     * being replaced). With no world size possible it waits up to the elastic wait for executors,
     * then fails naming the slots, the range and the global batch.
     *
     * @param reshardRefusal why the data cursors cannot move to another world size (then only
     *                       {@code current} is possible), or empty
     */
    public Decision next(int current, long globalBatch, Optional<String> reshardRefusal, long graceMs) throws InterruptedException {
        if (fixedMaster != null) graceMs = 0;   // local[N]: the slots never change, waiting cannot help
        long start = System.nanoTime();
        long graceEnd = start + TimeUnit.MILLISECONDS.toNanos(graceMs);
        long waitEnd = start + TimeUnit.MILLISECONDS.toNanos(settings.waitMs());
        while (true) {
            long version = events.version();
            int free = slots();
            OptionalInt best = reshardRefusal.isEmpty() ? settings.range().choose(free, globalBatch)
                    : free >= current && settings.range().contains(current) ? OptionalInt.of(current) : OptionalInt.empty();
            long now = System.nanoTime();
            if (best.isPresent() && (best.getAsInt() >= current || now - graceEnd >= 0)) {
                String what = events.since(decided);
                decided = version;
                return new Decision(best.getAsInt(), free, what);
            }
            if (best.isEmpty() && (now - waitEnd >= 0 || fixedMaster != null)) {
                throw new IllegalStateException("elastic: no world size can run" + (fixedMaster != null ? " on " + fixedMaster
                        : String.format(" after waiting %.0f s for executors", (now - start) / 1e9)) + ": "
                        + settings.range().unavailable(free, globalBatch)
                        + reshardRefusal.map(r -> "; the run cannot leave " + current + " workers: " + r).orElse("")
                        + ". Add executors, or resume with --elastic MIN..MAX or --workers W that fit");
            }
            events.awaitChange(version, Math.min(best.isPresent() ? graceEnd : waitEnd, now + RECHECK_NANOS));
        }
    }

    /** Watches a running chunk of {@code workers} workers; {@code cancel} is called at most once, with the reason. */
    public Watch watch(int workers, java.util.function.Consumer<String> cancel) {
        return new Watch(workers, cancel);
    }

    @Override
    public void close() {
        onClose.run();
    }

    /**
     * A thread that cancels the chunk (through {@code cancel}) once the barrier slots have stayed
     * below its world size for the grace period; closed when the chunk ends either way.
     */
    public final class Watch implements AutoCloseable {
        private final int workers;
        private final java.util.function.Consumer<String> cancel;
        private final Thread thread;
        private final long from = events.version();   // the events of this chunk: after this version
        private boolean closed;
        private String fired;

        Watch(int workers, java.util.function.Consumer<String> cancel) {
            this.workers = workers;
            this.cancel = cancel;
            this.thread = new Thread(this::watch, "lowrank-elastic-watch");
            thread.setDaemon(true);
            thread.start();
        }

        private void watch() {
            long graceNanos = TimeUnit.MILLISECONDS.toNanos(settings.graceMs());
            long below = 0;
            boolean isBelow = false;
            try {
                while (!isClosed()) {
                    long version = events.version();
                    int free = slots();
                    long now = System.nanoTime();
                    if (free >= workers) {
                        isBelow = false;
                        events.awaitChange(version, now + RECHECK_NANOS);
                        continue;
                    }
                    if (!isBelow) {
                        isBelow = true;
                        below = now;
                    }
                    if (now - below >= graceNanos) {
                        String reason = free + " barrier slot" + (free == 1 ? "" : "s") + " left for " + workers + " workers for "
                                + settings.graceMs() / 1000.0 + " s (" + events.since(from) + ")";
                        synchronized (this) {
                            if (closed) return;
                            fired = reason;
                        }
                        cancel.accept("elastic: " + reason);
                        return;
                    }
                    events.awaitChange(version, Math.min(below + graceNanos, now + RECHECK_NANOS));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private synchronized boolean isClosed() {
            return closed;
        }

        /** Why the watch cancelled the chunk, or null when it did not. */
        public synchronized String fired() {
            return fired;
        }

        @Override
        public void close() throws InterruptedException {
            synchronized (this) {
                closed = true;
            }
            events.wake();
            thread.join();
        }
    }

    /** Executor added/removed events: a version that waits can be woken on, and their descriptions. */
    static final class ExecutorEvents extends SparkListener {
        private long version;
        private final List<String> log = new ArrayList<>();   // index i: what made version i + 1

        @Override
        public synchronized void onExecutorAdded(SparkListenerExecutorAdded e) {
            add("executor " + e.executorId() + " added on " + e.executorInfo().executorHost());
        }

        @Override
        public synchronized void onExecutorRemoved(SparkListenerExecutorRemoved e) {
            add("executor " + e.executorId() + " lost: " + e.reason());
        }

        private void add(String what) {
            log.add(what);
            version++;
            notifyAll();
        }

        synchronized long version() {
            return version;
        }

        /** Wakes the waiters without an event (a watch being closed); recorded as nothing. */
        synchronized void wake() {
            add(null);
        }

        /** The events after {@code version}, most recent last; a sentence saying there were none otherwise. */
        synchronized String since(long version) {
            StringBuilder sb = new StringBuilder();
            for (int i = (int) version; i < log.size(); i++) {
                if (log.get(i) == null) continue;
                sb.append(sb.isEmpty() ? "" : "; ").append(log.get(i));
            }
            return sb.isEmpty() ? "no executor added or removed reported yet" : sb.toString();
        }

        /** Returns when the version moves past {@code seen} or at {@code deadlineNanos} (System.nanoTime). */
        synchronized void awaitChange(long seen, long deadlineNanos) throws InterruptedException {
            while (version == seen) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) return;
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }
}
