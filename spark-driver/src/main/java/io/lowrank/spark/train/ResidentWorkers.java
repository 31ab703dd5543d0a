package io.lowrank.spark.train;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.train.Trainer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Workers (backend + trainer) kept alive in the executor JVM from one chunk of a run to the next,
 * so a chunk that lands on the executor that ran the previous one continues from memory instead of
 * rebuilding the model and re-reading the checkpoint the previous chunk has just written (for a
 * large model, gigabytes of weights and optimizer state per chunk). The in-memory trainer is the
 * uninterrupted run, which a resume from that checkpoint reproduces exactly, so both paths train
 * the same steps on the same data.
 *
 * <p>A worker is kept only after its chunk succeeded (checkpoint published, barrier passed) and the
 * run has steps left; it is handed out only for the same run, rank, world size and configuration
 * and at exactly the chunk's start step, and anything else (a retried chunk, a driver retry from an
 * older checkpoint) closes it and rebuilds from the checkpoint. At most one run's workers are kept:
 * keeping a worker of another run closes the rest. The executor plugin
 * ({@link io.lowrank.spark.metrics.LowrankPlugin}) installs the cache and closes what it holds at
 * executor shutdown; without the plugin nothing is kept and every chunk rebuilds.
 */
public final class ResidentWorkers implements AutoCloseable {
    private static volatile ResidentWorkers installed;

    private final Map<Key, Worker> byKey = new HashMap<>();

    /** A worker's backend and the trainer that lives on it; closing it frees both. */
    public record Worker(Backend backend, Trainer trainer) implements AutoCloseable {
        @Override
        public void close() {
            try {
                trainer.close();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("closing a resident worker: " + e.getMessage(), e);
            } finally {
                backend.close();
            }
        }
    }

    public static void install(ResidentWorkers r) {
        installed = r;
    }

    public static void uninstall() {
        ResidentWorkers r = installed;
        installed = null;
        if (r != null) r.close();
    }

    /** Workers kept right now in this JVM (tests). */
    public static int size() {
        ResidentWorkers r = installed;
        if (r == null) return 0;
        synchronized (r) {
            return r.byKey.size();
        }
    }

    /** What must match for a kept worker to continue a chunk: its run, and rank, world, threads, data, configuration. */
    record Key(String run, String worker) { }

    static Key key(ChunkSpec spec, int rank) {
        return key(spec, rank, null);
    }

    /** gpuAddress: the GPU the task was given (null: none); a trainer bound to one GPU is not reused on another. */
    static Key key(ChunkSpec spec, int rank, String gpuAddress) {
        return new Key(spec.runId() + "#" + spec.runToken(), "rank " + rank + " of " + spec.worldSize() + "#threads "
                + spec.threads() + "#" + spec.datasetDir() + "#" + spec.vocabSize() + "#" + spec.runConfigJson()
                + (gpuAddress == null ? "" : "#gpu " + gpuAddress));
    }

    /**
     * The kept worker for this key if it stands at {@code step} (removed from the cache), else null.
     * A miss also closes the run's other kept workers here: Spark placed this rank on an executor
     * that kept another one, and holding those while this task builds its own could double the
     * executor's memory (a task of this chunk that wanted one of them rebuilds instead).
     */
    static Worker take(Key key, long step) {
        ResidentWorkers r = installed;
        if (r == null) return null;
        Worker w;
        List<Worker> stale;
        synchronized (r) {
            w = r.byKey.remove(key);
            stale = w == null ? r.removeIf(k -> k.run().equals(key.run())) : List.of();
        }
        stale.forEach(Worker::close);
        if (w == null || w.trainer().step() == step) return w;
        w.close();   // a chunk of this run was retried from an earlier checkpoint: this state is not it
        return null;
    }

    /** Keeps a worker for the next chunk; false when there is no cache (the caller then closes it). */
    static boolean keep(Key key, Worker w) {
        ResidentWorkers r = installed;
        if (r == null) return false;
        List<Worker> evicted;
        Worker replaced;
        synchronized (r) {
            evicted = r.removeIf(k -> !k.run().equals(key.run()));
            replaced = r.byKey.put(key, w);
        }
        evicted.forEach(Worker::close);
        if (replaced != null && replaced != w) replaced.close();
        return true;
    }

    /** Removes (caller holds the lock) and returns the workers whose key matches. */
    private List<Worker> removeIf(Predicate<Key> match) {
        List<Worker> removed = new ArrayList<>();
        for (Iterator<Map.Entry<Key, Worker>> it = byKey.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Worker> e = it.next();
            if (match.test(e.getKey())) {
                removed.add(e.getValue());
                it.remove();
            }
        }
        return removed;
    }

    @Override
    public void close() {
        List<Worker> all;
        synchronized (this) {
            all = removeIf(k -> true);
        }
        all.forEach(Worker::close);
    }
}
