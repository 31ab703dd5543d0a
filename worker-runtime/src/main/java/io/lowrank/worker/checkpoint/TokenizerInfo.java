package io.lowrank.worker.checkpoint;

/**
 * The tokenizer a checkpoint was trained with, as its files record it: the name
 * {@code io.lowrank.worker.data.Tokenizers#byName} accepts and the end-of-text id generation stops
 * at. Recorded in {@code config.json} ({@code lowrank_tokenizer}, {@code eos_token_id}) so that
 * generation and {@code eval --text} need no other flag.
 */
public record TokenizerInfo(String name, int endOfTextId) {
    public TokenizerInfo {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("tokenizer name is empty");
    }
}
