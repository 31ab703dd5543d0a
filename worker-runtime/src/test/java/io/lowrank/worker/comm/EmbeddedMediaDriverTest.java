package io.lowrank.worker.comm;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedMediaDriverTest
{
    @Test
    void eachDriverGetsItsOwnDirectoryWhichCloseDeletes()
    {
        final EmbeddedMediaDriver.Settings settings = new EmbeddedMediaDriver.Settings().termLength(1 << 20);
        final String first;
        final String second;
        try (EmbeddedMediaDriver one = EmbeddedMediaDriver.launch(settings);
            EmbeddedMediaDriver two = EmbeddedMediaDriver.launch(settings))
        {
            first = one.aeronDirectoryName();
            second = two.aeronDirectoryName();
            assertNotEquals(first, second);
            assertTrue(new File(first).isDirectory());
            assertTrue(Path.of(first).startsWith(settings.baseDirectory()));
        }
        assertFalse(new File(first).exists(), first + " should be deleted on close");
        assertFalse(new File(second).exists(), second + " should be deleted on close");
    }

    @Test
    void tooLittleSpaceFailsAtStartWithHowToFixIt()
    {
        final EmbeddedMediaDriver.Settings settings = new EmbeddedMediaDriver.Settings()
            .termLength(1 << 30)
            .expectedLogBuffers(1_000_000);
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> EmbeddedMediaDriver.launch(settings));
        final String message = ex.getMessage();
        assertTrue(message.contains("--shm-size") && message.contains("emptyDir") &&
            message.contains("medium: Memory") && message.contains("baseDirectory"), message);
    }

    @Test
    void aMissingBaseDirectoryIsReported()
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> EmbeddedMediaDriver.launch(
            new EmbeddedMediaDriver.Settings().baseDirectory(Path.of("/nonexistent/lowrank-aeron-base"))));
        assertTrue(ex.getMessage().contains("does not exist"), ex.getMessage());
    }
}
