package io.lowrank.spark.train;

import io.lowrank.worker.train.RunConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --elastic MIN..MAX: parsing, and the world size chosen from the slots, the range and the global batch. */
class ElasticRangeTest {

    @Test
    void parsesARangeAndNamesTheOptionAndValueInItsErrors() {
        assertEquals(new ElasticRange(2, 3), ElasticRange.parse("2..3"));
        assertEquals(new ElasticRange(1, 1), ElasticRange.parse(" 1 .. 1 "));
        assertMessage("--elastic 3..2: MIN 3 is larger than MAX 2", () -> ElasticRange.parse("3..2"));
        assertMessage("--elastic 0..0: MAX must be >= 1", () -> ElasticRange.parse("0..0"));
        assertMessage("--elastic 0..2: MIN must be >= 1", () -> ElasticRange.parse("0..2"));
        assertMessage("--elastic 2-3: expected MIN..MAX", () -> ElasticRange.parse("2-3"));
        assertMessage("--elastic 99999999999..99999999999: MIN and MAX must be small whole numbers", () -> ElasticRange.parse("99999999999..99999999999"));
        assertTrue(new ElasticRange(2, 3).contains(2) && new ElasticRange(2, 3).contains(3));
        assertTrue(!new ElasticRange(2, 3).contains(1) && !new ElasticRange(2, 3).contains(4));
    }

    @Test
    void choosesTheLargestWorldSizeTheSlotsAllowThatKeepsTheGlobalBatch() {
        ElasticRange r = new ElasticRange(2, 6);
        assertEquals(OptionalInt.of(6), r.choose(8, 12), "capped by MAX");
        assertEquals(OptionalInt.of(4), r.choose(5, 12), "5 does not divide 12");
        assertEquals(OptionalInt.of(3), r.choose(3, 12));
        assertEquals(OptionalInt.of(2), r.choose(2, 12));
        assertEquals(OptionalInt.empty(), r.choose(1, 12), "below MIN");
        assertEquals(OptionalInt.of(5), r.choose(6, 10), "6 does not divide 10");
        assertEquals(OptionalInt.empty(), new ElasticRange(4, 6).choose(6, 7), "7 is prime");
        assertEquals(OptionalInt.of(3), new ElasticRange(2, 3).choose(3, 6));
        assertEquals(OptionalInt.of(2), new ElasticRange(2, 3).choose(2, 6));
        assertEquals(List.of(2, 3, 4, 6), r.feasible(12));
    }

    @Test
    void saysWhyNoWorldSizeCanRun() {
        assertEquals("1 barrier slot available, --elastic 2..3 and a global batch of 6 sequences need at least 2 (world sizes that keep it: [2, 3])",
                new ElasticRange(2, 3).unavailable(1, 6));
        assertEquals("6 barrier slots available, --elastic 4..6 and a global batch of 7 sequences need a world size that divides 7 (none in 4..6)",
                new ElasticRange(4, 6).unavailable(6, 7));
    }

    /** The re-plan the driver applies between chunks (ElasticPlan, shared with train --resume --workers). */
    @Test
    void replanKeepsTheGlobalBatchAndReturnsToTheOriginalSplit() throws Exception {
        RunConfig three = RunConfig.load("tiny", "cola").with(Map.of("train.batch_size", "2", "train.grad_accum", "1"));
        RunConfig two = ElasticPlan.replan(three, 3, 2, null, 2);
        assertEquals(1, two.batchSize());
        assertEquals(3, two.gradAccum());
        assertEquals(6, ElasticPlan.globalBatch(2, two));
        RunConfig back = ElasticPlan.replan(two, 2, 3, null, 2);
        assertEquals(2, back.batchSize(), "the largest micro-batch known to fit, not the shrunk run's 1");
        assertEquals(1, back.gradAccum());
        assertSame(three, ElasticPlan.replan(three, 3, 3, null, 2), "no change, same config");
        assertEquals("3 workers x micro-batch 2 x accumulation 1 -> 2 x 1 x 3 (global batch 6 sequences kept)",
                ElasticPlan.describe(3, three, 2, two));
        assertMessage("the global batch of 6 sequences cannot be split evenly over 4 workers", () -> ElasticPlan.replan(three, 3, 4, null, 2));
    }

    private static void assertMessage(String expectedPrefix, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().startsWith(expectedPrefix), x.getMessage());
    }
}
