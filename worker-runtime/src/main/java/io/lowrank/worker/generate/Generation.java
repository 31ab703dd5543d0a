package io.lowrank.worker.generate;

import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.model.InferenceModel;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * One generation for one prompt: prefill, then decode token by token until the end-of-text id,
 * {@code maxNewTokens}, or the model's last position. Text (when a tokenizer is known) goes to
 * {@code stream} as it is produced: each new token's text once the bytes so far decode to whole
 * characters (a byte-level BPE token may end inside a UTF-8 sequence).
 */
public final class Generation {
    /** Why generation stopped. */
    public enum Stop { END_OF_TEXT, MAX_NEW_TOKENS, MAX_POSITION_EMBEDDINGS }

    /** What a generation produced and how fast; new token ids include a final end-of-text id. */
    public record Result(int promptTokens, int[] newTokenIds, String text, Stop stop, double prefillSeconds,
                         int decodeSteps, double decodeSeconds, long peakBytes) {
        public double prefillTokensPerSecond() { return promptTokens / prefillSeconds; }
        public double decodeTokensPerSecond() { return decodeSteps == 0 ? Double.NaN : decodeSteps / decodeSeconds; }
    }

    private Generation() {}

    /**
     * @param tokenizer may be null (ids only: the result's text is empty)
     * @param endOfTextId stop id; negative: none
     */
    public static Result run(Backend be, InferenceModel model, int[] prompt, int maxNewTokens, Sampler sampler,
                             TextTokenizer tokenizer, int endOfTextId, Consumer<String> stream) {
        if (model.batch() != 1) throw new IllegalArgumentException("one prompt at a time (model batch " + model.batch() + ")");
        if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        int room = model.capacity() - prompt.length + 1;          // the last position's logits give one more token
        int limit = Math.min(maxNewTokens, room);
        int[] ids = new int[limit];
        int[] step = new int[1];
        long t0 = System.nanoTime();
        Tensor logits = model.prefill(prompt);
        double prefill = (System.nanoTime() - t0) / 1e9;
        int n = 0, decodeSteps = 0;
        long decodeNanos = 0;
        int printed = 0;
        Stop stop = null;
        while (n < limit) {
            int next = sampler.next(be.toHostFloats(logits), 0);
            ids[n++] = next;
            if (next == endOfTextId) { stop = Stop.END_OF_TEXT; break; }
            if (tokenizer != null && stream != null) printed = streamText(tokenizer, ids, n, endOfTextId, printed, stream);
            if (n == limit) break;
            step[0] = next;
            long d0 = System.nanoTime();
            logits = model.decode(step);
            decodeNanos += System.nanoTime() - d0;
            decodeSteps++;
        }
        if (stop == null) stop = limit < maxNewTokens ? Stop.MAX_POSITION_EMBEDDINGS : Stop.MAX_NEW_TOKENS;
        int[] out = Arrays.copyOf(ids, n);
        String text = tokenizer == null ? "" : tokenizer.decode(withoutEndOfText(out, endOfTextId));
        if (tokenizer != null && stream != null && text.length() > printed) stream.accept(text.substring(printed));
        return new Result(prompt.length, out, text, stop, prefill, decodeSteps, decodeNanos / 1e9, be.memory().peakBytes());
    }

    /** Emits the text of ids[0..n) beyond the first {@code printed} chars when it ends in whole characters. */
    private static int streamText(TextTokenizer tokenizer, int[] ids, int n, int eot, int printed, Consumer<String> stream) {
        String text = tokenizer.decode(withoutEndOfText(Arrays.copyOf(ids, n), eot));
        if (text.endsWith("\uFFFD") || text.length() <= printed) return printed;   // a character still incomplete
        stream.accept(text.substring(printed));
        return text.length();
    }

    private static int[] withoutEndOfText(int[] ids, int eot) {
        return ids.length > 0 && ids[ids.length - 1] == eot ? Arrays.copyOf(ids, ids.length - 1) : ids;
    }
}
