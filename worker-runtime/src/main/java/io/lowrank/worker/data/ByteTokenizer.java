package io.lowrank.worker.data;

import java.nio.charset.StandardCharsets;

/**
 * {@code bytes}: each UTF-8 byte of the text is one token (ids 0..255), end-of-text is 256, so the
 * vocabulary is 257. Chosen for CPU-scale studies: with a 32k vocabulary a small model is mostly
 * embedding and output head (the tiny preset: 8.2M of 8.6M parameters), so it says little about
 * low-rank layers; with 257 ids the transformer blocks hold nearly all parameters. Needs no table
 * and no training, and is exact for any text (a BPE fitted to the corpus would be the other honest
 * choice, at the cost of a trained artefact per corpus).
 */
final class ByteTokenizer implements TextTokenizer {
    static final String NAME = "bytes";
    static final int END_OF_TEXT = 256;

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
        return ids;
    }

    /** End-of-text decodes as {@code <|endoftext|>}, as in the BPE tokenizers; bytes that are not valid UTF-8 become U+FFFD. */
    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        byte[] run = new byte[ids.length];
        int n = 0;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id > END_OF_TEXT) {
                throw new IllegalArgumentException("token id " + id + " at position " + i + " is not in the vocabulary of tokenizer "
                        + NAME + " (size " + vocabSize() + ")");
            }
            if (id == END_OF_TEXT) {
                out.append(new String(run, 0, n, StandardCharsets.UTF_8)).append(Tokenizers.END_OF_TEXT);
                n = 0;
            } else {
                run[n++] = (byte) id;
            }
        }
        return out.append(new String(run, 0, n, StandardCharsets.UTF_8)).toString();
    }

    @Override
    public int vocabSize() { return END_OF_TEXT + 1; }

    @Override
    public int endOfTextId() { return END_OF_TEXT; }

    @Override
    public String name() { return NAME; }

    @Override
    public String toString() { return "Tokenizer[bytes, vocab 257, eot 256]"; }
}
