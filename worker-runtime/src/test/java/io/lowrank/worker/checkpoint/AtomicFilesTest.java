package io.lowrank.worker.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AtomicFilesTest {
    @TempDir
    Path tmp;

    @Test
    void failureMidwayKeepsOldContentAndLeavesNoTemp() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        AtomicFiles.write(file, "old content".getBytes());
        IOException boom = assertThrows(IOException.class, () -> AtomicFiles.write(file, out -> {
            out.write(new byte[200_000]);        // more than the stream buffer: really reaches the temp file
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("disk full (simulated)", boom.getMessage());
        assertEquals("old content", Files.readString(file));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(file), s.toList());
        }
    }

    @Test
    void replacesAndCreatesParents() throws IOException {
        Path file = tmp.resolve("a/b/c.json");
        AtomicFiles.write(file, "1".getBytes());
        AtomicFiles.write(file, "22".getBytes());
        assertEquals("22", Files.readString(file));
        try (var s = Files.list(file.getParent())) {
            assertEquals(1, s.count());
        }
    }
}
