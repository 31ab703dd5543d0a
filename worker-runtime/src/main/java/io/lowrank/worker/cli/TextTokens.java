package io.lowrank.worker.cli;

import io.lowrank.worker.data.CorpusReader;
import io.lowrank.worker.data.MalformedCounts;
import io.lowrank.worker.data.TextTokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A text or JSONL file as token ids, the way training reads a corpus: documents (blank-line
 * separated text, or the JSONL field {@code text}) each followed by the end-of-text id.
 */
final class TextTokens {
    private TextTokens() {}

    static int[] read(Path file, TextTokenizer tok) throws IOException {
        IntList ids = new IntList();
        MalformedCounts bad = new CorpusReader().read(file, text -> {
            ids.addAll(tok.encode(text));
            ids.add(tok.endOfTextId());
        });
        if (bad.total() > 0) System.err.println("--text " + file + ": skipped malformed records: " + bad);
        if (ids.size == 0) throw new IllegalArgumentException("--text " + file + " holds no text");
        return java.util.Arrays.copyOf(ids.data, ids.size);
    }

    private static final class IntList {
        int[] data = new int[1024];
        int size;

        void add(int v) {
            if (size == data.length) data = java.util.Arrays.copyOf(data, data.length * 2);
            data[size++] = v;
        }

        void addAll(int[] v) { for (int x : v) add(x); }
    }
}
