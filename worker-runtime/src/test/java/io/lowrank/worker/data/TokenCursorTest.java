package io.lowrank.worker.data;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenCursorTest {

    @TempDir
    Path dir;

    /** Token value = its position in the concatenated stream, so every window says where it came from. */
    List<Path> files;
    static final int[] SIZES = {37, 0, 5, 120, 64, 3, 91}; // empty file, files shorter than a window
    static final int TOTAL = Arrays.stream(SIZES).sum();   // 320

    @BeforeEach
    void writeFiles() throws IOException {
        files = new ArrayList<>();
        int pos = 0;
        for (int i = 0; i < SIZES.length; i++) {
            int[] t = new int[SIZES[i]];
            for (int j = 0; j < t.length; j++) {
                t[j] = pos++;
            }
            Path f = dir.resolve(String.format("train-%05d.%s", i, i % 2 == 0 ? "tok" : "npy"));
            if (i % 2 == 0) {
                TokenShardWriter.write(f, t, 1000);
            } else {
                NpyTokens.writeInt32(f, t); // mixed formats in one list
            }
            files.add(f);
        }
    }

    @Test
    void windowsAreConsecutiveNonOverlappingAndWrapWithEpochs() throws IOException {
        int seqLen = 10; // windows of 11: 29 per epoch, the last token of each epoch is dropped
        TokenCursor c = new TokenCursor(files);
        assertEquals(TOTAL, c.totalTokens());
        int batch = 4;
        int[] out = new int[batch * (seqLen + 1)];
        int windowsPerEpoch = TOTAL / (seqLen + 1);
        long served = 0;
        for (int call = 0; call < 30; call++) {
            c.next(out, batch, seqLen);
            for (int b = 0; b < batch; b++) {
                long w = served++;
                int start = (int) (w % windowsPerEpoch) * (seqLen + 1);
                for (int k = 0; k <= seqLen; k++) {
                    assertEquals(start + k, out[b * (seqLen + 1) + k], "window " + w + " token " + k);
                }
            }
        }
        assertEquals(served, c.sequencesServed());
        assertEquals((served - 1) / windowsPerEpoch, c.epoch());
    }

    @Test
    void resumeFromSavedStateGivesIdenticalBatches() throws IOException {
        int batch = 3;
        int seqLen = 16;
        int[] out = new int[batch * (seqLen + 1)];
        TokenCursor straight = new TokenCursor(files);
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            straight.next(out, batch, seqLen);
            expected.add(out.clone());
        }
        for (int stop : new int[] {1, 5, 6, 13}) {
            TokenCursor first = new TokenCursor(files);
            for (int i = 0; i < stop; i++) {
                first.next(out, batch, seqLen);
                assertArrayEquals(expected.get(i), out);
            }
            String json = first.state().toJson();
            TokenCursor resumed = new TokenCursor(new ArrayList<>(files));
            resumed.restore(CursorState.fromJson(json));
            assertEquals(first.state(), resumed.state());
            for (int i = stop; i < expected.size(); i++) {
                resumed.next(out, batch, seqLen);
                assertArrayEquals(expected.get(i), out, "batch " + i + " after resuming at " + stop);
            }
            assertEquals(straight.epoch(), resumed.epoch());
        }
    }

    @Test
    void workersTakeDisjointWindowsThatCoverTheEpoch() throws IOException {
        int worldSize = 3;
        int seqLen = 7; // 40 windows of 8 per epoch: ranks 0 gets 14, ranks 1 and 2 get 13
        int windowsPerEpoch = TOTAL / (seqLen + 1);
        Set<Integer> seenStarts = new HashSet<>();
        int[] out = new int[seqLen + 1];
        for (int rank = 0; rank < worldSize; rank++) {
            TokenCursor c = new TokenCursor(files, rank, worldSize);
            int mine = (windowsPerEpoch - rank + worldSize - 1) / worldSize;
            for (int i = 0; i < mine; i++) {
                c.next(out, 1, seqLen);
                int window = out[0] / (seqLen + 1);
                assertEquals(rank, window % worldSize, "rank " + rank + " got window " + window);
                assertEquals(window, rank + i * worldSize);
                assertTrue(seenStarts.add(out[0]), "window " + window + " served twice");
            }
            assertEquals(0, c.epoch());
            c.next(out, 1, seqLen); // next epoch starts again at this rank's first window
            assertEquals(1, c.epoch());
            assertEquals(rank * (seqLen + 1), out[0]);
        }
        assertEquals(windowsPerEpoch, seenStarts.size());
    }

    @Test
    void shardedCursorResumes() throws IOException {
        int[] out = new int[2 * 6];
        TokenCursor straight = new TokenCursor(files, 1, 4);
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            straight.next(out, 2, 5);
            expected.add(out.clone());
        }
        TokenCursor first = new TokenCursor(files, 1, 4);
        for (int i = 0; i < 7; i++) {
            first.next(out, 2, 5);
        }
        TokenCursor resumed = new TokenCursor(files, 1, 4);
        resumed.restore(CursorState.fromJson(first.state().toJson()));
        for (int i = 7; i < 12; i++) {
            resumed.next(out, 2, 5);
            assertArrayEquals(expected.get(i), out);
        }
    }

    @Test
    void restoreRejectsOtherDataOrRank() throws IOException {
        TokenCursor c = new TokenCursor(files, 0, 2);
        CursorState s = c.state();
        TokenCursor fewer = new TokenCursor(files.subList(0, 3), 0, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fewer.restore(s));
        assertTrue(e.getMessage().contains("dataFingerprint"), e.getMessage());
        TokenCursor otherRank = new TokenCursor(files, 1, 2);
        e = assertThrows(IllegalArgumentException.class, () -> otherRank.restore(s));
        assertTrue(e.getMessage().contains("rank 0 of 2"), e.getMessage());
        CursorState beyond = new CursorState(0, 38, 0, 0, 0, 0, 2, s.dataFingerprint());
        e = assertThrows(IllegalArgumentException.class, () -> c.restore(beyond));
        assertTrue(e.getMessage().contains("offset 38"), e.getMessage());
    }

    @Test
    void stateJsonRejectsMissingOrInvalidFields() {
        CursorState s = new CursorState(2, 17, 3, 99, 12, 1, 4, "abc");
        assertEquals(s, CursorState.fromJson(s.toJson()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CursorState.fromJson("{\"fileIndex\":1,\"offset\":0,\"epoch\":0,\"sequencesServed\":0,"
                        + "\"windowInEpoch\":0,\"rank\":0,\"worldSize\":1}"));
        assertTrue(e.getMessage().contains("dataFingerprint"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CursorState.fromJson(s.toJson().replace("\"rank\":1", "\"rank\":4")));
        assertTrue(e.getMessage().contains("rank 4"), e.getMessage());
    }

    @Test
    void badArgumentsAreExplained() throws IOException {
        TokenCursor c = new TokenCursor(files);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.next(new int[10], 2, 8));
        assertTrue(e.getMessage().contains("needs 18"), e.getMessage());
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> c.next(new int[400], 1, 320));
        assertTrue(s.getMessage().contains("320 tokens"), s.getMessage());
        TokenCursor highRank = new TokenCursor(files, 5, 6);
        s = assertThrows(IllegalStateException.class, () -> highRank.next(new int[200], 1, 99)); // 3 windows, rank 5
        assertTrue(s.getMessage().contains("rank 5"), s.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TokenCursor(files, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new TokenCursor(List.of()));
    }
}
