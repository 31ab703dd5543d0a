package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** One JSON object per line in {@code <run>/metrics.jsonl}; appended on resume, flushed per line. */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    public MetricsLog(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    public ObjectNode record(String kind) {
        ObjectNode n = JSON.createObjectNode();
        n.put("kind", kind);
        n.put("time", System.currentTimeMillis() / 1000.0);
        return n;
    }

    public void write(ObjectNode n) throws IOException {
        out.write(JSON.writeValueAsString(n));
        out.newLine();
        out.flush();
    }

    @Override
    public void close() throws IOException { out.close(); }
}
