package io.lowrank.spark.prepare;

import io.lowrank.worker.data.MalformedCounts;

import java.io.Serializable;

/** What one tokenization task read: documents, tokens, malformed records by kind (with a few examples). */
final class SplitStats implements Serializable {
    private static final long serialVersionUID = 1L;
    static final int MAX_EXAMPLES = 5;

    int splitIndex;
    int fileIndex;
    long documents;
    long tokens;
    /** Indexed by {@link MalformedCounts.Kind#ordinal()}. */
    long[] malformed = new long[MalformedCounts.Kind.values().length];
    String[] examples = new String[0];

    SplitStats() {
    }

    SplitStats(int splitIndex, int fileIndex) {
        this.splitIndex = splitIndex;
        this.fileIndex = fileIndex;
    }

    long malformedTotal() {
        long t = 0;
        for (long c : malformed) {
            t += c;
        }
        return t;
    }

    void addExample(String e) {
        if (examples.length < MAX_EXAMPLES) {
            String[] more = java.util.Arrays.copyOf(examples, examples.length + 1);
            more[examples.length] = e;
            examples = more;
        }
    }
}
