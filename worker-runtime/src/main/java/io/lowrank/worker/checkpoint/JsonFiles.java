package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Small Jackson helpers for the JSON files of a checkpoint ({@code config.json},
 * {@code trainer_state.json}): read an object with errors naming the file, write pretty JSON
 * atomically (temp file + rename). Key order is preserved both ways (pass a LinkedHashMap or an
 * ObjectNode to control it), so output is deterministic.
 */
public final class JsonFiles {
    /** Configured once, never mutated, thread-safe: a constant rather than shared mutable state. */
    private static final ObjectMapper MAPPER = newMapper();
    private static final ObjectWriter PRETTY = MAPPER.writer(new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n")));

    private JsonFiles() {}

    /** A fresh mapper with the settings used here (duplicate keys are an error). */
    public static ObjectMapper newMapper() {
        return JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    }

    /** Parses any JSON document; errors name the file, line and column. */
    public static JsonNode readTree(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            JsonNode n = MAPPER.readTree(bytes);
            if (n == null || n.isMissingNode()) {
                throw new CheckpointFormatException(file, "empty file, expected JSON");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(file, "invalid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage(), e);
        }
    }

    /** Parses a file whose top level must be a JSON object. */
    public static ObjectNode readObject(Path file) throws IOException {
        JsonNode n = readTree(file);
        if (!n.isObject()) {
            throw new CheckpointFormatException(file, "expected a JSON object at top level, found " + n.getNodeType());
        }
        return (ObjectNode) n;
    }

    /** Parses a JSON object file into a LinkedHashMap (file key order) of plain Java values. */
    public static Map<String, Object> readMap(Path file) throws IOException {
        return MAPPER.convertValue(readObject(file), new TypeReference<java.util.LinkedHashMap<String, Object>>() {});
    }

    /** Binds a JSON file to {@code type}; errors name the file and the bad field. */
    public static <T> T read(Path file, Class<T> type) throws IOException {
        JsonNode n = readTree(file);
        try {
            return MAPPER.treeToValue(n, type);
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(file, "cannot read as " + type.getSimpleName() + ": "
                    + e.getOriginalMessage(), e);
        }
    }

    /** Pretty JSON (2-space indent, trailing newline) of a Map, JsonNode or bean. */
    public static String toPrettyString(Object value) {
        try {
            return PRETTY.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialize " + value.getClass().getName() + " to JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** Atomically writes {@code value} as pretty JSON to {@code file} (temp file + rename). */
    public static void writePretty(Path file, Object value) throws IOException {
        byte[] bytes = toPrettyString(value).getBytes(StandardCharsets.UTF_8); // serialize before touching disk
        AtomicFiles.write(file, bytes);
    }
}
