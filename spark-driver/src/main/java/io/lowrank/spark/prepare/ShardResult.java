package io.lowrank.spark.prepare;

import java.io.Serializable;

/** One shard as its writing task reports it. */
final class ShardResult implements Serializable {
    private static final long serialVersionUID = 1L;

    int shardId;
    /** "train" or "val". */
    String split;
    String file;
    long tokens;
    long sequences;
    long crc32c;
    String dtype;
    long bytes;
    /** End-of-text tokens in the shard: documents that end here. */
    long documentEnds;

    ShardResult() {
    }
}
