package io.lowrank.spark.prepare;

import org.junit.jupiter.api.Test;

import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FeistelPermutationTest {

    @Test
    void isABijectionOfZeroToN() {
        for (long n : new long[]{1, 2, 3, 4, 5, 17, 100, 1000, 4096, 4097, 65_537}) {
            FeistelPermutation p = new FeistelPermutation(n, 42);
            BitSet seen = new BitSet((int) n);
            for (long i = 0; i < n; i++) {
                long v = p.apply(i);
                assertTrue(v >= 0 && v < n, "n=" + n + " i=" + i + " -> " + v);
                assertFalse(seen.get((int) v), "n=" + n + ": " + v + " hit twice");
                seen.set((int) v);
            }
            assertEquals(n, seen.cardinality());
        }
    }

    @Test
    void dependsOnTheSeedOnlyAndShuffles() {
        long n = 1000;
        FeistelPermutation a = new FeistelPermutation(n, 1);
        FeistelPermutation a2 = new FeistelPermutation(n, 1);
        FeistelPermutation b = new FeistelPermutation(n, 2);
        int fixed = 0;
        int differ = 0;
        for (long i = 0; i < n; i++) {
            assertEquals(a.apply(i), a2.apply(i));
            if (a.apply(i) == i) {
                fixed++;
            }
            if (a.apply(i) != b.apply(i)) {
                differ++;
            }
        }
        assertTrue(fixed < 20, "a shuffle leaves few elements in place: " + fixed);
        assertTrue(differ > 900, "another seed gives another permutation: " + differ);
        assertNotEquals(a.apply(0), b.apply(0));
        assertThrows(IndexOutOfBoundsException.class, () -> a.apply(n));
    }
}
