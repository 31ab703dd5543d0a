package io.lowrank.spark.prepare;

/**
 * A seeded pseudo-random permutation of {@code [0, n)} computed element by element, without a
 * table: a 6-round balanced Feistel network over the smallest even-bit power of two
 * {@code >= n}, with cycle walking (re-apply until the value falls below {@code n}). A Feistel
 * network is a bijection of its domain whatever the round function, and cycle walking restricts
 * a bijection to a subset, so {@link #apply} is a bijection of {@code [0, n)}. The domain is at
 * most 4n, so a walk takes fewer than 4 steps on average.
 *
 * <p>Used to shuffle sequences: sequence {@code i} of the packed stream goes to position
 * {@code apply(i)}. Any executor computes the same position from (seed, n, i) alone.
 */
public final class FeistelPermutation implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private static final int ROUNDS = 6;

    private final long n;
    private final int halfBits;
    private final long halfMask;
    private final long[] keys = new long[ROUNDS];

    public FeistelPermutation(long n, long seed) {
        if (n < 1) {
            throw new IllegalArgumentException("permutation size must be positive, got " + n);
        }
        this.n = n;
        int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(n - 1));
        this.halfBits = (bits + 1) / 2;
        this.halfMask = (1L << halfBits) - 1;
        long k = seed;
        for (int r = 0; r < ROUNDS; r++) {
            k = mix64(k + 0x9E3779B97F4A7C15L);
            keys[r] = k;
        }
    }

    public long size() {
        return n;
    }

    /** The position of {@code i}; a bijection of {@code [0, n)}. */
    public long apply(long i) {
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("index " + i + " outside [0, " + n + ")");
        }
        long x = i;
        do {
            x = encrypt(x);
        } while (x >= n);
        return x;
    }

    private long encrypt(long x) {
        long left = x >>> halfBits;
        long right = x & halfMask;
        for (int r = 0; r < ROUNDS; r++) {
            long next = left ^ (mix64(right ^ keys[r]) & halfMask);
            left = right;
            right = next;
        }
        return (left << halfBits) | right;
    }

    /** SplitMix64 finalizer. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
