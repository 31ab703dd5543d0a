package io.lowrank.worker.checkpoint;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class HalfFloatsTest {

    @Test
    void bf16KnownBitPatterns() {
        assertEquals(1.0f, HalfFloats.bf16ToFloat(0x3F80));
        assertEquals(-2.0f, HalfFloats.bf16ToFloat(0xC000));
        assertEquals(3.140625f, HalfFloats.bf16ToFloat(0x4049));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.bf16ToFloat(0x7F80));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.bf16ToFloat(0xFF80));
        assertEquals(0x1p-133f, HalfFloats.bf16ToFloat(0x0001));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(HalfFloats.bf16ToFloat(0x8000)));
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(0x7FC0)));
    }

    @Test
    void f16KnownBitPatterns() {
        assertEquals(1.0f, HalfFloats.f16ToFloat(0x3C00));
        assertEquals(-2.0f, HalfFloats.f16ToFloat(0xC000));
        assertEquals(65504.0f, HalfFloats.f16ToFloat(0x7BFF));
        assertEquals(0x1p-24f, HalfFloats.f16ToFloat(0x0001));          // smallest subnormal
        assertEquals(1023 * 0x1p-24f, HalfFloats.f16ToFloat(0x03FF));   // largest subnormal
        assertEquals(0x1p-14f, HalfFloats.f16ToFloat(0x0400));          // smallest normal
        assertEquals(0.333251953125f, HalfFloats.f16ToFloat(0x3555));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.f16ToFloat(0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToFloat(0xFC00));
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat(0x7E00)));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(HalfFloats.f16ToFloat(0x8000)));
    }

    @Test
    void everyNonNanBitPatternRoundTrips() {
        for (int h = 0; h < 0x10000; h++) {
            float f16 = HalfFloats.f16ToFloat(h);
            if (!Float.isNaN(f16)) {
                assertEquals(h, HalfFloats.floatToF16(f16) & 0xFFFF, "f16 0x" + Integer.toHexString(h));
            } else {
                assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f16))));
            }
            float bf = HalfFloats.bf16ToFloat(h);
            if (!Float.isNaN(bf)) {
                assertEquals(h, HalfFloats.floatToBf16(bf) & 0xFFFF, "bf16 0x" + Integer.toHexString(h));
            } else {
                assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(bf))));
            }
        }
    }

    @Test
    void roundsToNearestTiesToEven() {
        // bf16 has 7 fraction bits: 1 + 2^-8 is halfway between 1.0 (even) and 1 + 2^-7
        assertEquals((short) 0x3F80, HalfFloats.floatToBf16(1f + 0x1p-8f));
        assertEquals((short) 0x3F82, HalfFloats.floatToBf16(1f + 3 * 0x1p-8f));
        assertEquals((short) 0x3F81, HalfFloats.floatToBf16(1f + 0x1p-8f + 0x1p-20f));
        assertEquals((short) 0x7F80, HalfFloats.floatToBf16(Float.MAX_VALUE));
        // f16
        assertEquals((short) 0x7BFF, HalfFloats.floatToF16(65519f));
        assertEquals((short) 0x7C00, HalfFloats.floatToF16(65520f));    // tie, rounds to even = inf
        assertEquals((short) 0x7C00, HalfFloats.floatToF16(1e10f));
        assertEquals((short) 0x0000, HalfFloats.floatToF16(0x1p-25f));   // tie between 0 and 2^-24
        assertEquals((short) 0x0001, HalfFloats.floatToF16(0x1.8p-25f));
        assertEquals((short) 0x0002, HalfFloats.floatToF16(2.5f * 0x1p-24f)); // tie between 2 and 3 units -> 2
        assertEquals((short) 0x0004, HalfFloats.floatToF16(3.5f * 0x1p-24f)); // tie between 3 and 4 units -> 4
        assertEquals((short) 0x8000, HalfFloats.floatToF16(-1e-30f));
        assertEquals((short) 0x0400, HalfFloats.floatToF16(0x1p-14f - 0x1p-26f)); // subnormal rounding carries into normal
    }

    @Test
    void encodingPicksTheNearestRepresentable() {
        Random rnd = new Random(7);
        for (int k = 0; k < 200_000; k++) {
            float f = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(40) - 28));
            checkNearest(f, HalfFloats.floatToF16(f) & 0xFFFF, true);
            checkNearest(f, HalfFloats.floatToBf16(f) & 0xFFFF, false);
        }
    }

    private static void checkNearest(float f, int h, boolean f16) {
        double got = decode(h, f16);
        if (Double.isInfinite(got)) {
            assertTrue(Math.abs(f) >= (f16 ? 65520.0 : 3.3961775e38), "overflow only above the max: " + f);
            return;
        }
        double err = Math.abs(got - f);
        for (int nb : new int[] {h - 1, h + 1}) {
            if (nb < 0 || nb > 0xFFFF) continue;
            double other = decode(nb, f16);
            if (Double.isNaN(other) || Double.isInfinite(other) || Math.signum(other) * Math.signum(got) < 0) continue;
            double otherErr = Math.abs(other - f);
            assertTrue(err < otherErr || (err == otherErr && (h & 1) == 0),
                    (f16 ? "f16" : "bf16") + " of " + f + ": got 0x" + Integer.toHexString(h) + " but 0x"
                            + Integer.toHexString(nb) + " is nearer or the even tie");
        }
    }

    private static double decode(int h, boolean f16) {
        return f16 ? HalfFloats.f16ToFloat(h) : HalfFloats.bf16ToFloat(h);
    }
}
