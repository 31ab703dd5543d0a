package io.lowrank.spark.prepare;

import java.io.Serializable;

/**
 * One tokenization task's share of one input file. Text and JSONL: the records whose first byte
 * lies in {@code [start, end)}; a split reads past {@code end} to finish its last record, and skips
 * the partial record at its start, so the splits of a file together read every record once (the
 * rule Hadoop's line reader uses, extended to blank-line separated paragraphs). Gzip files are one
 * split. Parquet: row groups {@code [start, end)}.
 *
 * <p>Splits are numbered in stream order (file order, then position), and the tokenization RDD
 * has one partition per split in that order, so the concatenation of the partitions' token
 * streams is the canonical stream whatever the split size.
 */
final class InputSplit implements Serializable {
    private static final long serialVersionUID = 1L;

    int index;
    int fileIndex;
    String uri;
    /** "text", "jsonl" or "parquet". */
    String format;
    long start;
    long end;
    /** The whole file (gzip, small files, Parquet read in one piece). */
    boolean whole;
    /** Size and modification time listed on the driver: a task that finds others fails (input changed). */
    long fileBytes;
    long fileModificationTime;

    InputSplit() {
    }

    InputSplit(int index, int fileIndex, String uri, String format, long start, long end, boolean whole) {
        this.index = index;
        this.fileIndex = fileIndex;
        this.uri = uri;
        this.format = format;
        this.start = start;
        this.end = end;
        this.whole = whole;
    }

    InputSplit file(long bytes, long modificationTime) {
        this.fileBytes = bytes;
        this.fileModificationTime = modificationTime;
        return this;
    }

    @Override
    public String toString() {
        return uri + (whole ? "" : "[" + start + "," + end + ")");
    }
}
