package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Re-sharding the data cursors of W workers onto W2: every window of the stream is taken exactly
 * once across the change, and each step after it takes the same block of windows an uninterrupted
 * run would. Windows are identified by their content: token i of the stream is i, so a window's
 * first token names its position. The files are split unevenly so windows cross file boundaries.
 */
class CursorReshardTest {
    private static final int SEQ = 6, WINDOW = SEQ + 1;

    private static List<Path> files(Path dir, int windows) throws Exception {
        int total = windows * WINDOW + 3;   // a remainder the cursor drops at the epoch's end
        int[] cuts = {0, total / 5, total / 3, total / 2, total};
        List<Path> out = new ArrayList<>();
        for (int f = 0; f + 1 < cuts.length; f++) {
            int[] t = new int[cuts[f + 1] - cuts[f]];
            for (int i = 0; i < t.length; i++) t[i] = cuts[f] + i;
            Path p = dir.resolve("part-" + f + ".npy");
            NpyTokens.writeInt32(p, t);
            out.add(p);
        }
        return out;
    }

    /** One data-parallel "step": every cursor takes {@code batch} windows; returns the windows' indices. */
    private static List<Integer> step(List<TokenCursor> cursors, int batch) throws Exception {
        List<Integer> taken = new ArrayList<>();
        int[] buf = new int[batch * WINDOW];
        for (TokenCursor c : cursors) {
            c.next(buf, batch, SEQ);
            for (int b = 0; b < batch; b++) {
                assertEquals(0, buf[b * WINDOW] % WINDOW);
                taken.add(buf[b * WINDOW] / WINDOW);
            }
        }
        return taken;
    }

    private static List<TokenCursor> cursors(List<Path> files, int world) throws Exception {
        List<TokenCursor> cs = new ArrayList<>();
        for (int r = 0; r < world; r++) cs.add(new TokenCursor(files, r, world));
        return cs;
    }

    @ParameterizedTest(name = "{0} -> {2} workers")
    @CsvSource({"2,3,3,2", "3,2,2,3", "2,6,4,3", "4,1,1,4", "1,4,4,1"})
    void everyWindowIsTakenExactlyOnceAcrossTheChange(int oldWorld, int oldBatch, int newWorld, int newBatch, @TempDir Path dir) throws Exception {
        int global = oldWorld * oldBatch;
        assertEquals(global, newWorld * newBatch);
        List<Path> files = files(dir, 200);
        List<TokenCursor> before = cursors(files, oldWorld);
        List<Integer> seen = new ArrayList<>();
        int stepsBefore = 4, stepsAfter = 5;
        for (int s = 0; s < stepsBefore; s++) seen.addAll(step(before, oldBatch));

        List<CursorState> states = new ArrayList<>();
        for (TokenCursor c : before) states.add(c.state());
        List<TokenCursor> after = cursors(files, newWorld);
        long servedBefore = 0, servedAfter = 0;
        for (CursorState s : states) servedBefore += s.sequencesServed();
        for (TokenCursor c : after) {
            // through JSON, as the checkpoint carries them
            List<CursorState> fromJson = new ArrayList<>();
            for (CursorState s : states) fromJson.add(CursorState.fromJson(s.toJson()));
            c.restore(CursorReshard.reshard(fromJson, c, SEQ));
            servedAfter += c.sequencesServed();
        }
        assertEquals(servedBefore, servedAfter, "the sequence counters keep their sum");

        for (int s = 0; s < stepsAfter; s++) {
            List<Integer> block = step(after, newBatch);
            // the step takes exactly the block an uninterrupted run's step takes
            TreeSet<Integer> sorted = new TreeSet<>(block);
            int first = (stepsBefore + s) * global;
            assertEquals(global, sorted.size(), "no window twice within step " + (stepsBefore + s));
            assertEquals(first, sorted.first());
            assertEquals(first + global - 1, sorted.last());
            seen.addAll(block);
        }
        TreeSet<Integer> union = new TreeSet<>(seen);
        assertEquals(seen.size(), union.size(), "a window was taken twice");
        assertEquals((stepsBefore + stepsAfter) * global, union.size());
        assertEquals(0, union.first());
        assertEquals(union.size() - 1, union.last(), "a window was skipped");
    }

    @Test
    void cursorsInDifferentEpochsAreRefusedWithTheReason(@TempDir Path dir) throws Exception {
        List<Path> files = files(dir, 7);   // 7 windows per epoch: rank 0 of 2 gets 4, rank 1 gets 3
        List<TokenCursor> before = cursors(files, 2);
        for (int s = 0; s < 4; s++) step(before, 1);   // rank 1 has wrapped into epoch 1, rank 0 has not
        List<CursorState> states = List.of(before.get(0).state(), before.get(1).state());
        TokenCursor target = new TokenCursor(files, 0, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CursorReshard.reshard(states, target, SEQ));
        assertTrue(e.getMessage().contains("epoch") && e.getMessage().contains("resume with 2 workers"), e.getMessage());

        // a wrong seq_len is named too
        List<TokenCursor> fresh = cursors(files, 2);
        step(fresh, 1);
        List<CursorState> s2 = List.of(fresh.get(0).state(), fresh.get(1).state());
        IllegalStateException e2 = assertThrows(IllegalStateException.class, () -> CursorReshard.reshard(s2, target, SEQ + 1));
        assertTrue(e2.getMessage().contains("seq_len"), e2.getMessage());
        // rank 1 ahead of rank 0 (not what data-parallel steps produce): windows 0, 1, 3 taken, 2 not
        fresh.get(1).next(new int[WINDOW], 1, SEQ);
        List<CursorState> s3 = List.of(fresh.get(0).state(), fresh.get(1).state());
        IllegalStateException e3 = assertThrows(IllegalStateException.class, () -> CursorReshard.reshard(s3, target, SEQ));
        assertTrue(e3.getMessage().contains("rank 0 stopped before window 1"), e3.getMessage());
    }
}
