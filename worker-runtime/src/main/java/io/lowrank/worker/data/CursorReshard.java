package io.lowrank.worker.data;

import java.util.List;

/**
 * Moves the data cursors of W workers onto W2 workers so that no window is seen twice or skipped.
 *
 * <p>{@link TokenCursor} gives worker r of W the windows {@code w % W == r} of each epoch, in order.
 * When every worker has taken the same number of windows in the same epoch (what data-parallel
 * steps do), the windows taken so far are exactly the prefix {@code [0, P)} of that epoch, P being
 * one past the last window any worker took. The W2 new cursors then all start at window P of that
 * epoch with the new rule {@code w % W2 == r'}: together they take every window from P on exactly
 * once, and with the same global batch G (P a multiple of G) each step takes the same block
 * {@code [sG, (s+1)G)} of windows as the uninterrupted run. The per-rank sequence counters are
 * redistributed so that their sum is preserved.
 *
 * <p>When the consumed windows are not such a prefix (the workers are in different epochs, which
 * happens once an epoch's window count is not a multiple of W), there is no exact re-shard with
 * this window assignment and {@link #reshard} refuses, saying so.
 */
public final class CursorReshard {
    private CursorReshard() {}

    /**
     * @param old    the cursors of the old workers, in rank order (a checkpoint's {@code train_cursors})
     * @param target a fresh cursor of the new worker (its rank and world size) over the same files
     * @param seqLen the run's sequence length (windows are seqLen + 1 tokens)
     * @return the state to {@link TokenCursor#restore} into {@code target}
     */
    public static CursorState reshard(List<CursorState> old, TokenCursor target, int seqLen) {
        long prefix = prefix(old);
        int window = seqLen + 1;
        long served = 0;
        for (int r = 0; r < old.size(); r++) {
            CursorState s = old.get(r);
            if (!s.dataFingerprint().equals(target.fingerprint())) {
                throw new IllegalArgumentException("cursor of rank " + r + " was written for other token files (fingerprint "
                        + s.dataFingerprint() + ", these files " + target.fingerprint() + ")");
            }
            if (target.streamPosition(s) != s.windowInEpoch() * window) {
                throw new IllegalStateException("cursor of rank " + r + " is at token " + target.streamPosition(s) + ", not at the end of window "
                        + s.windowInEpoch() + " of " + window + " tokens: was the run's seq_len " + seqLen + "?");
            }
            served += s.sequencesServed();
        }
        int newWorld = target.worldSize(), newRank = target.rank();
        long mine = served / newWorld + (newRank < served % newWorld ? 1 : 0);
        return target.stateAt(prefix * window, prefix, old.get(0).epoch(), mine);
    }

    /**
     * The number of windows of the current epoch the old workers took together, when they are
     * exactly the prefix {@code [0, P)} (checkable without the token files: a driver refuses an
     * impossible re-shard before it starts any worker).
     *
     * @throws IllegalStateException naming the rank and the reason when they are not
     */
    public static long prefix(List<CursorState> old) {
        int oldWorld = old.size();
        if (oldWorld == 0) throw new IllegalArgumentException("no cursors to re-shard");
        long epoch = old.get(0).epoch();
        long prefix = 0;
        for (int r = 0; r < oldWorld; r++) {
            CursorState s = old.get(r);
            if (s.rank() != r || s.worldSize() != oldWorld) {
                throw new IllegalArgumentException("cursor " + r + " of " + oldWorld + " is for rank " + s.rank() + " of " + s.worldSize());
            }
            if (s.epoch() != epoch) {
                throw new IllegalStateException("cannot re-shard the data cursors exactly: rank 0 is in epoch " + epoch + " and rank " + r
                        + " in epoch " + s.epoch() + " (an epoch's window count is not a multiple of " + oldWorld
                        + " workers); resume with " + oldWorld + " workers");
            }
            prefix = Math.max(prefix, s.windowInEpoch());
        }
        // every old rank must have taken all of its windows below the prefix and none above
        for (int r = 0; r < oldWorld; r++) {
            long expected = prefix <= r ? 0 : (prefix - 1 - Math.floorMod(prefix - 1 - r, oldWorld)) + 1;
            if (old.get(r).windowInEpoch() != expected) {
                throw new IllegalStateException("cannot re-shard the data cursors exactly: rank " + r + " stopped before window "
                        + old.get(r).windowInEpoch() + " of epoch " + epoch + " but the workers together took windows [0, " + prefix
                        + "), which needs " + expected + "; resume with " + oldWorld + " workers");
            }
        }
        return prefix;
    }
}
