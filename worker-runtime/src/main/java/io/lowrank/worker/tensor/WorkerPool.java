package io.lowrank.worker.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that split a row range [0, n) into equal contiguous parts. Nothing is
 * allocated per call: the caller publishes the task in a volatile field and bumps a generation
 * counter; workers park between calls. Row-parallel kernels (softmax, cross-entropy, norms) are
 * memory-bound loops that a single Java thread cannot saturate.
 */
final class WorkerPool implements AutoCloseable {
    interface RangeTask { void run(int part, int from, int to); }

    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile RangeTask task;
    private volatile int n;
    private volatile long generation;
    private volatile boolean closed;
    private volatile Throwable failure;
    private volatile Thread caller;   // the thread inside run(), woken by the last worker to finish

    WorkerPool(int threads) {
        workers = new Thread[Math.max(0, threads - 1)];
        for (int i = 0; i < workers.length; i++) {
            final int part = i + 1;
            workers[i] = new Thread(() -> loop(part), "lowrank-kernel-" + part);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    int parts() { return workers.length + 1; }

    /** Runs task over [0, n) split into parts(); returns when every part is done. */
    void run(int n, RangeTask t) {
        if (workers.length == 0 || n < 2) {
            t.run(0, 0, n);
            return;
        }
        this.task = t;
        this.n = n;
        caller = Thread.currentThread();
        pending.set(workers.length);
        generation++;
        for (Thread w : workers) LockSupport.unpark(w);
        t.run(0, 0, (int) ((long) n / parts()));
        while (pending.get() > 0) {
            LockSupport.parkNanos(20_000);
        }
        this.task = null;
        Throwable f = failure;
        if (f != null) {
            failure = null;
            throw new IllegalStateException("kernel worker failed", f);
        }
    }

    private void loop(int part) {
        long seen = 0;
        while (!closed) {
            long g = generation;
            if (g == seen) {
                LockSupport.park(this);
                continue;
            }
            seen = g;
            RangeTask t = task;
            int total = n;
            try {
                int p = parts();
                int from = (int) ((long) total * part / p), to = (int) ((long) total * (part + 1) / p);
                t.run(part, from, to);
            } catch (Throwable e) {
                failure = e;
            } finally {
                if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
