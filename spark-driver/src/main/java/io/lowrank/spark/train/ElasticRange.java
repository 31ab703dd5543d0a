package io.lowrank.spark.train;

import io.lowrank.worker.train.ElasticResume;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --elastic MIN..MAX}: the world sizes a run may train on, and the choice of one from the
 * barrier slots available (pure logic; {@link ElasticWorld} does the waiting).
 *
 * @param min the fewest workers the run continues on
 * @param max the most workers it grows back to
 */
public record ElasticRange(int min, int max) {
    private static final Pattern RANGE = Pattern.compile("\\s*(\\d+)\\s*\\.\\.\\s*(\\d+)\\s*");

    public ElasticRange {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("--elastic " + min + ".." + max + ": need 1 <= MIN <= MAX");
        }
    }

    /** "2..3"; the error names the option and the value. */
    public static ElasticRange parse(String value) {
        Matcher m = RANGE.matcher(value);
        if (!m.matches()) {
            throw new IllegalArgumentException("--elastic " + value + ": expected MIN..MAX, e.g. --elastic 2..4");
        }
        int min, max;
        try {
            min = Integer.parseInt(m.group(1));
            max = Integer.parseInt(m.group(2));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--elastic " + value + ": MIN and MAX must be small whole numbers", e);
        }
        if (max < 1) throw new IllegalArgumentException("--elastic " + value + ": MAX must be >= 1");
        if (min < 1) throw new IllegalArgumentException("--elastic " + value + ": MIN must be >= 1");
        if (min > max) throw new IllegalArgumentException("--elastic " + value + ": MIN " + min + " is larger than MAX " + max);
        return new ElasticRange(min, max);
    }

    public boolean contains(int workers) {
        return workers >= min && workers <= max;
    }

    /** The world sizes of the range that keep {@code globalBatch} exactly. */
    public List<Integer> feasible(long globalBatch) {
        List<Integer> out = new ArrayList<>();
        for (int w = min; w <= max; w++) if (keepsGlobalBatch(globalBatch, w)) out.add(w);
        return out;
    }

    /**
     * The largest world size in [min, min(max, slots)] that keeps the global batch exactly, or
     * empty when there is none.
     */
    public OptionalInt choose(int slots, long globalBatch) {
        for (int w = Math.min(max, slots); w >= min; w--) {
            if (keepsGlobalBatch(globalBatch, w)) return OptionalInt.of(w);
        }
        return OptionalInt.empty();
    }

    /** Why {@link #choose} found nothing: the slots, the range and the global batch. */
    public String unavailable(int slots, long globalBatch) {
        List<Integer> feasible = feasible(globalBatch);
        return slots + " barrier slot" + (slots == 1 ? "" : "s") + " available, --elastic " + this + " and a global batch of "
                + globalBatch + " sequences need " + (feasible.isEmpty()
                ? "a world size that divides " + globalBatch + " (none in " + this + ")"
                : "at least " + feasible.get(0) + " (world sizes that keep it: " + feasible + ")");
    }

    /** Whether the micro-batch/accumulation re-plan ({@link ElasticResume#replan}) succeeds for w workers. */
    private static boolean keepsGlobalBatch(long globalBatch, int w) {
        try {
            ElasticResume.replan(globalBatch, w, null, Integer.MAX_VALUE);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return min + ".." + max;
    }
}
