package io.lowrank.spark.prepare;

import java.io.Serializable;

/** The token stream of one split (each document followed by end-of-text) and what was read. */
final class TokenBlock implements Serializable {
    private static final long serialVersionUID = 1L;

    SplitStats stats;
    int[] tokens;

    TokenBlock() {
    }

    TokenBlock(SplitStats stats, int[] tokens) {
        this.stats = stats;
        this.tokens = tokens;
    }
}
