package io.lowrank.spark.train;

import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver's elastic decisions over a slot count the test sets (no Spark): grow at once, shrink
 * only after the grace period, wait for executors then fail naming slots, range and global batch,
 * keep the world size when the cursors cannot move, and the watch that cancels a chunk.
 */
class ElasticWorldTest {
    private static final long GRACE_MS = 300, WAIT_MS = 600;
    private final AtomicInteger slots = new AtomicInteger(3);
    private final ElasticWorld world = new ElasticWorld(new ElasticWorld.Settings(new ElasticRange(2, 3), 2, WAIT_MS, GRACE_MS),
            slots::get, null, l -> { }, l -> { });

    @Test
    void growsAtOnceShrinksAfterTheGracePeriodAndNamesTheEvents() throws Exception {
        long t = System.nanoTime();
        assertEquals(3, world.next(2, 6, Optional.empty(), 60_000).workers(), "enough slots for MAX: grow at once");
        assertTrue(ms(t) < 5_000, "no waiting to grow: " + ms(t) + " ms");

        slots.set(2);
        world.events.onExecutorRemoved(new SparkListenerExecutorRemoved(0L, "7", "Executor killed by driver."));
        t = System.nanoTime();
        ElasticWorld.Decision d = world.next(3, 6, Optional.empty(), GRACE_MS);
        assertTrue(ms(t) >= GRACE_MS, "waited the grace period before shrinking: " + ms(t) + " ms");
        assertEquals(2, d.workers());
        assertEquals(2, d.slots());
        assertEquals("executor 7 lost: Executor killed by driver.", d.events());
        assertEquals("no executor added or removed reported yet", world.next(2, 6, Optional.empty(), GRACE_MS).events(), "each event told once");

        slots.set(3);   // 4 slots or more: still at most MAX
        assertEquals(3, world.next(3, 6, Optional.empty(), GRACE_MS).workers());
        slots.set(5);
        assertEquals(3, world.next(3, 6, Optional.empty(), GRACE_MS).workers());
    }

    @Test
    void failsAfterTheWaitWhenNoWorldSizeCanRun() {
        slots.set(1);
        long t = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> world.next(3, 6, Optional.empty(), GRACE_MS));
        assertTrue(ms(t) >= WAIT_MS, "waited for executors: " + ms(t) + " ms");
        assertTrue(e.getMessage().contains("1 barrier slot available, --elastic 2..3 and a global batch of 6 sequences need at least 2"), e.getMessage());
        slots.set(3);
        e = assertThrows(IllegalStateException.class, () -> world.next(3, 7, Optional.empty(), GRACE_MS));
        assertTrue(e.getMessage().contains("need a world size that divides 7 (none in 2..3)"), e.getMessage());
    }

    @Test
    void cursorsThatCannotMoveKeepTheWorldSizeThatWroteThem() {
        slots.set(3);
        assertEquals(2, assertDoesNotThrow(() -> world.next(2, 6, Optional.of("different epochs"), GRACE_MS)).workers(), "no growth");
        slots.set(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> world.next(3, 6, Optional.of("different epochs"), GRACE_MS));
        assertTrue(e.getMessage().contains("the run cannot leave 3 workers: different epochs"), e.getMessage());
    }

    @Test
    void theWatchCancelsAChunkWhoseSlotsStayTooFewAndOnlyThen() throws Exception {
        slots.set(3);
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        ElasticWorld.Watch fine = world.watch(3, cancelled::complete);
        fine.close();
        assertNull(fine.fired());
        assertTrue(!cancelled.isDone());

        slots.set(2);
        long t = System.nanoTime();
        ElasticWorld.Watch lost = world.watch(3, cancelled::complete);
        world.events.onExecutorRemoved(new SparkListenerExecutorRemoved(0L, "4", "worker lost"));
        String reason = cancelled.get(30, TimeUnit.SECONDS);
        assertTrue(ms(t) >= GRACE_MS, "after the grace period: " + ms(t) + " ms");
        lost.close();
        assertEquals("elastic: 2 barrier slots left for 3 workers for 0.3 s (executor 4 lost: worker lost)", reason);
        assertEquals(reason, "elastic: " + lost.fired());
    }

    private static <T> T assertDoesNotThrow(java.util.concurrent.Callable<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }
}
