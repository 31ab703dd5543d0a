package io.lowrank.worker.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Deterministic, resumable reader of training windows over an ordered list of token files.
 *
 * <p><b>Windows.</b> The files are read as one concatenated stream. A window is {@code seqLen+1}
 * consecutive tokens (inputs = the first {@code seqLen}, targets = the next token at each
 * position); consecutive windows do not overlap, so window {@code w} of an epoch starts at stream
 * position {@code w * (seqLen+1)}. Windows cross file boundaries freely. When fewer than
 * {@code seqLen+1} tokens are left, that remainder is dropped, the cursor wraps to the start of
 * the first file and {@code epoch} increases: every epoch sees the same windows.
 *
 * <p><b>Workers.</b> With {@code (rank, worldSize)}, worker {@code rank} takes exactly the windows
 * whose index within the epoch satisfies {@code w % worldSize == rank} and skips the others
 * without reading them, so N workers with the same file list see disjoint windows that together
 * cover the epoch, each in the same order a single worker would. When the window count per epoch
 * is not a multiple of worldSize, the low ranks get one window more per epoch than the high ones.
 *
 * <p><b>Resume.</b> {@link #state()} captures the position; a new cursor over the same files
 * (checked by a fingerprint of names and token counts) {@link #restore restored} to it produces
 * exactly the batches an uninterrupted cursor would have produced.
 *
 * <p>Only the file currently being read is held in memory (loaded and checksum-verified through
 * {@link TokenFiles#read}). Steady-state calls allocate nothing. Not thread-safe: one cursor per
 * training loop.
 */
public final class TokenCursor {

    private final List<Path> files;
    private final long[] start; // start[i] = stream position of file i's first token; start[n] = total
    private final long total;
    private final int rank;
    private final int worldSize;
    private final String fingerprint;

    private long position;       // stream position of the next window to consider
    private long windowInEpoch;  // index of that window within the epoch
    private long epoch;
    private long sequencesServed;

    private int loadedIndex = -1;
    private int[] loaded;

    /** Single-worker cursor. */
    public TokenCursor(List<Path> files) throws IOException {
        this(files, 0, 1);
    }

    /** Cursor of worker {@code rank} of {@code worldSize}; see the class comment for which windows it gets. */
    public TokenCursor(List<Path> files, int rank, int worldSize) throws IOException {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("token cursor needs at least one token file");
        }
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is not in [0, worldSize=" + worldSize + ")");
        }
        this.files = List.copyOf(files);
        this.rank = rank;
        this.worldSize = worldSize;
        this.start = new long[this.files.size() + 1];
        MessageDigest digest = sha256();
        for (int i = 0; i < this.files.size(); i++) {
            Path f = this.files.get(i);
            long count = TokenFiles.count(f); // header only: cheap even for many large shards
            start[i + 1] = start[i] + count;
            // Names, not full paths: a data directory moved to another mount still resumes.
            digest.update((f.getFileName() + "\t" + count + "\n").getBytes(StandardCharsets.UTF_8));
        }
        this.total = start[this.files.size()];
        this.fingerprint = HexFormat.of().formatHex(digest.digest(), 0, 8);
    }

    /**
     * Fills {@code out[0, batch*(seqLen+1))} with {@code batch} windows, row-major: window b
     * occupies {@code out[b*(seqLen+1), (b+1)*(seqLen+1))}.
     */
    public void next(int[] out, int batch, int seqLen) throws IOException {
        if (batch < 1 || seqLen < 1) {
            throw new IllegalArgumentException("batch and seqLen must be positive, got batch=" + batch + ", seqLen=" + seqLen);
        }
        int window = seqLen + 1;
        long needed = (long) batch * window;
        if (out.length < needed) {
            throw new IllegalArgumentException("output array holds " + out.length + " ints, batch " + batch
                    + " x (seqLen " + seqLen + " + 1) needs " + needed);
        }
        long windowsPerEpoch = total / window;
        if (windowsPerEpoch <= rank) {
            throw new IllegalStateException("token files hold " + total + " tokens = " + windowsPerEpoch
                    + " windows of " + window + " tokens; rank " + rank + " of " + worldSize + " would get none");
        }
        for (int b = 0; b < batch; b++) {
            seekOwnWindow(window);
            copy(position, out, b * window, window);
            position += window;
            windowInEpoch++;
            sequencesServed++;
        }
    }

    /** Moves to the next window this rank owns, wrapping (and counting the epoch) at the end. */
    private void seekOwnWindow(int window) {
        int wraps = 0;
        while (true) {
            if (total - position < window) {
                // Guard against an endless loop if seqLen changed mid-epoch so this rank owns nothing.
                if (++wraps > 2) {
                    throw new IllegalStateException("rank " + rank + " found no window of " + window
                            + " tokens in a whole epoch of " + total + " tokens");
                }
                position = 0;
                windowInEpoch = 0;
                epoch++;
                continue;
            }
            if (windowInEpoch % worldSize == rank) {
                return;
            }
            position += window; // someone else's window: skip without reading
            windowInEpoch++;
        }
    }

    private void copy(long from, int[] out, int outOffset, int length) throws IOException {
        int copied = 0;
        long pos = from;
        while (copied < length) {
            int fi = fileOf(pos);
            int[] tokens = load(fi);
            int inFile = (int) (pos - start[fi]);
            int n = Math.min(length - copied, tokens.length - inFile);
            System.arraycopy(tokens, inFile, out, outOffset + copied, n);
            copied += n;
            pos += n;
        }
    }

    /** Index of the file holding stream position {@code pos}; empty files never hold a position; n at the end. */
    private int fileOf(long pos) {
        // Smallest i with start[i+1] > pos; start[] is non-decreasing, so binary search works.
        int lo = 0;
        int hi = files.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (start[mid + 1] > pos) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    private int[] load(int fileIndex) throws IOException {
        if (fileIndex != loadedIndex) {
            loaded = null; // let the previous file be collected before the next one is read
            int[] tokens = TokenFiles.read(files.get(fileIndex));
            long expected = start[fileIndex + 1] - start[fileIndex];
            if (tokens.length != expected) {
                throw new TokenFormatException("token file " + files.get(fileIndex) + " changed while in use: header said "
                        + expected + " tokens when the cursor opened it, now " + tokens.length);
            }
            loaded = tokens;
            loadedIndex = fileIndex;
        }
        return loaded;
    }

    public CursorState state() {
        int fi = fileOf(position);
        return new CursorState(fi, position - start[fi], epoch, sequencesServed, windowInEpoch, rank, worldSize, fingerprint);
    }

    /**
     * Continues from {@code s}, which must come from a cursor over the same files (same names and
     * token counts) with the same rank and worldSize.
     */
    public void restore(CursorState s) {
        if (!s.dataFingerprint().equals(fingerprint)) {
            throw new IllegalArgumentException("cursor state dataFingerprint " + s.dataFingerprint()
                    + " does not match these token files (" + fingerprint + "): different file names or token counts");
        }
        if (s.rank() != rank || s.worldSize() != worldSize) {
            throw new IllegalArgumentException("cursor state is for rank " + s.rank() + " of " + s.worldSize()
                    + ", this cursor is rank " + rank + " of " + worldSize);
        }
        if (s.fileIndex() > files.size()) {
            throw new IllegalArgumentException("cursor state fileIndex " + s.fileIndex() + " exceeds the "
                    + files.size() + " token files");
        }
        long fileLength = start[Math.min(s.fileIndex() + 1, files.size())] - start[s.fileIndex()];
        if (s.offset() > fileLength) {
            throw new IllegalArgumentException("cursor state offset " + s.offset() + " is beyond the " + fileLength
                    + " tokens of file " + s.fileIndex());
        }
        position = start[s.fileIndex()] + s.offset();
        windowInEpoch = s.windowInEpoch();
        epoch = s.epoch();
        sequencesServed = s.sequencesServed();
    }

    /** Stream position (tokens from the start of the first file) of a state of a cursor over these files. */
    long streamPosition(CursorState s) {
        return start[Math.min(s.fileIndex(), files.size())] + s.offset();
    }

    /** A state of this cursor (its rank and world) at the given stream position and window of an epoch. */
    CursorState stateAt(long streamPosition, long windowInEpoch, long epoch, long sequencesServed) {
        int fi = fileOf(streamPosition);
        return new CursorState(fi, streamPosition - start[fi], epoch, sequencesServed, windowInEpoch, rank, worldSize, fingerprint);
    }

    public int rank() { return rank; }
    public int worldSize() { return worldSize; }
    public String fingerprint() { return fingerprint; }

    public long epoch() {
        return epoch;
    }

    public long sequencesServed() {
        return sequencesServed;
    }

    /** Tokens in all files together. */
    public long totalTokens() {
        return total;
    }

    public List<Path> files() {
        return files;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
