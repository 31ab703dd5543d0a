package io.lowrank.worker.data;

/**
 * A text tokenizer as the data pipeline sees it: text in, token ids out, and back.
 *
 * <p>Implementations are immutable and thread-safe. {@link #encode} treats its input as plain
 * text: a literal {@code "<|endoftext|>"} inside a document is encoded as ordinary characters,
 * never as the end-of-text id, so a document cannot forge a document boundary. The pipeline
 * appends {@link #endOfTextId()} itself after each document.
 */
public interface TextTokenizer {

    /** Token ids of {@code text}; every id is in {@code [0, vocabSize())}. */
    int[] encode(String text);

    /**
     * The text of {@code ids}. For ids produced by {@link #encode} this returns the original
     * string exactly. Ids outside the vocabulary raise an {@link IllegalArgumentException}
     * naming the id and its position.
     */
    String decode(int[] ids);

    /** Number of ids the model's embedding must hold (largest valid id + 1). */
    int vocabSize();

    /** Id appended after every document. */
    int endOfTextId();

    /** Name accepted by {@link Tokenizers#byName(String)}; recorded in shard manifests. */
    String name();
}
