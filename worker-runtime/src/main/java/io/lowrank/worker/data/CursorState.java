package io.lowrank.worker.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Position of a {@link TokenCursor}, small enough to live in a checkpoint's training state.
 *
 * @param fileIndex       file holding the next token to consider ({@code == files} at the very end)
 * @param offset          token offset inside that file
 * @param epoch           how many times the cursor wrapped back to the first file
 * @param sequencesServed sequences this cursor has handed out (all epochs)
 * @param windowInEpoch   index of the next window of the concatenated stream in this epoch; with
 *                        several workers it decides which worker owns the window
 * @param rank            worker rank the cursor was created with
 * @param worldSize       number of workers the cursor was created with
 * @param dataFingerprint hash of the file names and token counts, so a resume against different
 *                        data fails loudly instead of silently reading other windows
 */
public record CursorState(int fileIndex, long offset, long epoch, long sequencesServed, long windowInEpoch,
                          int rank, int worldSize, String dataFingerprint) {

    // ObjectMapper is thread-safe once configured; this is a codec constant, not mutable global state.
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public CursorState {
        if (fileIndex < 0 || offset < 0 || epoch < 0 || sequencesServed < 0 || windowInEpoch < 0) {
            throw new IllegalArgumentException("cursor state has a negative field: fileIndex=" + fileIndex
                    + ", offset=" + offset + ", epoch=" + epoch + ", sequencesServed=" + sequencesServed
                    + ", windowInEpoch=" + windowInEpoch);
        }
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("cursor state: rank " + rank + " is not in [0, worldSize=" + worldSize + ")");
        }
        if (dataFingerprint == null || dataFingerprint.isEmpty()) {
            throw new IllegalArgumentException("cursor state: dataFingerprint is missing");
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + this, e);
        }
    }

    /** Parses {@link #toJson()} output; missing, null or unknown fields are errors naming the field. */
    public static CursorState fromJson(String json) {
        try {
            return JSON.readValue(json, CursorState.class);
        } catch (JsonProcessingException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException ? e.getCause() : e;
            throw new IllegalArgumentException("invalid cursor state JSON: " + cause.getMessage(), e);
        }
    }
}
