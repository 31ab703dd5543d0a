package io.lowrank.spark.prepare;

import java.io.Serializable;

/**
 * Part of one sequence on its way to its shard: {@code tokens} go to token offset
 * {@code destOffset} of the shard. A sequence that crosses a split boundary arrives as two or
 * more pieces.
 */
final class Piece implements Serializable {
    private static final long serialVersionUID = 1L;

    long destOffset;
    int[] tokens;

    Piece() {
    }

    Piece(long destOffset, int[] tokens) {
        this.destOffset = destOffset;
        this.tokens = tokens;
    }
}
