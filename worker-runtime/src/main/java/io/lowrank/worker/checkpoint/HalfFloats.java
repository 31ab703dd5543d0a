package io.lowrank.worker.checkpoint;

/**
 * Conversions between float and the two 16-bit float formats found in Hugging Face checkpoints:
 * IEEE 754 binary16 ("F16") and bfloat16 ("BF16"). Encoding rounds to nearest, ties to even;
 * NaN stays NaN (quiet), infinities and signed zeros are preserved.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** bfloat16 bits (low 16 bits of {@code bits}) to float; exact. */
    public static float bf16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float to bfloat16 bits, round to nearest even. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) { // NaN: keep sign/top payload, force quiet bit
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** IEEE binary16 bits (low 16 bits of {@code bits}) to float; exact, subnormals included. */
    public static float f16ToFloat(int bits) {
        int h = bits & 0xFFFF;
        int sign = (h >>> 15) << 31;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1p-24f; // subnormal: mant * 2^-24, exact in float
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** float to IEEE binary16 bits, round to nearest even; overflow gives infinity. */
    public static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7F_FFFF;
        if (exp == 0xFF) {
            if (mant == 0) {
                return (short) (sign | 0x7C00);
            }
            return (short) (sign | 0x7C00 | 0x0200 | (mant >>> 13)); // quiet NaN
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign; // below half the smallest subnormal: +-0
            }
            int m = mant | 0x80_0000;      // 24-bit significand with implicit bit
            int shift = 14 - e;            // in 14..24
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (half & 1) == 1)) {
                half++;                    // may carry into the smallest normal: still correct
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
            half++;                        // may carry into exponent 31 = infinity: correct
        }
        return (short) (sign | half);
    }
}
