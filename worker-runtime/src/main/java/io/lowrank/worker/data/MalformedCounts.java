package io.lowrank.worker.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.List;

/**
 * Records a corpus reader skipped, counted by kind, with the locations of the first few, so
 * nothing is dropped silently: the counts go into the shard manifest and the prepare summary.
 */
public final class MalformedCounts {

    /** Kinds of malformed records. */
    public enum Kind {
        /** A JSONL line that is not valid JSON, or not a JSON object. */
        BAD_JSON,
        /** A JSON object without the text field. */
        MISSING_FIELD,
        /** The text field is present but not a string (number, object, null...). */
        WRONG_TYPE,
        /** The text is empty or whitespace only. */
        EMPTY_TEXT,
        /** The record's bytes are not valid UTF-8. */
        BAD_UTF8
    }

    static final int MAX_EXAMPLES = 10;

    private final long[] counts = new long[Kind.values().length];
    private final List<String> examples = new ArrayList<>();

    public MalformedCounts() {
    }

    @JsonCreator
    MalformedCounts(@JsonProperty("badJson") long badJson, @JsonProperty("missingField") long missingField,
                    @JsonProperty("wrongType") long wrongType, @JsonProperty("emptyText") long emptyText,
                    @JsonProperty("badUtf8") long badUtf8, @JsonProperty("examples") List<String> examples) {
        counts[Kind.BAD_JSON.ordinal()] = badJson;
        counts[Kind.MISSING_FIELD.ordinal()] = missingField;
        counts[Kind.WRONG_TYPE.ordinal()] = wrongType;
        counts[Kind.EMPTY_TEXT.ordinal()] = emptyText;
        counts[Kind.BAD_UTF8.ordinal()] = badUtf8;
        if (examples != null) {
            this.examples.addAll(examples);
        }
    }

    /** Counts one record of {@code kind} found at {@code location} (e.g. "file.jsonl:17"). */
    public void add(Kind kind, String location) {
        counts[kind.ordinal()]++;
        if (examples.size() < MAX_EXAMPLES) {
            examples.add(location + ": " + kind.name().toLowerCase());
        }
    }

    /**
     * Adds {@code n} records of {@code kind} without locations (for counts gathered elsewhere, for
     * example by distributed readers); see {@link #addExample}.
     */
    public void addCount(Kind kind, long n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative malformed count " + n + " for " + kind);
        }
        counts[kind.ordinal()] += n;
    }

    /** Records one example location (already formatted), if fewer than the cap are held. */
    public void addExample(String example) {
        if (examples.size() < MAX_EXAMPLES) {
            examples.add(example);
        }
    }

    /** Adds all counts (and examples, up to the cap) of {@code other}. */
    public void addAll(MalformedCounts other) {
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
        }
        for (String e : other.examples) {
            if (examples.size() >= MAX_EXAMPLES) {
                break;
            }
            examples.add(e);
        }
    }

    public long count(Kind kind) {
        return counts[kind.ordinal()];
    }

    @JsonProperty("badJson")
    public long badJson() {
        return count(Kind.BAD_JSON);
    }

    @JsonProperty("missingField")
    public long missingField() {
        return count(Kind.MISSING_FIELD);
    }

    @JsonProperty("wrongType")
    public long wrongType() {
        return count(Kind.WRONG_TYPE);
    }

    @JsonProperty("emptyText")
    public long emptyText() {
        return count(Kind.EMPTY_TEXT);
    }

    @JsonProperty("badUtf8")
    public long badUtf8() {
        return count(Kind.BAD_UTF8);
    }

    /** Locations of the first {@value #MAX_EXAMPLES} malformed records. */
    @JsonProperty("examples")
    public List<String> examples() {
        return List.copyOf(examples);
    }

    public long total() {
        long t = 0;
        for (long c : counts) {
            t += c;
        }
        return t;
    }

    @Override
    public String toString() {
        return "malformed{badJson=" + badJson() + ", missingField=" + missingField() + ", wrongType=" + wrongType()
                + ", emptyText=" + emptyText() + ", badUtf8=" + badUtf8() + (examples.isEmpty() ? "" : ", first=" + examples) + "}";
    }
}
