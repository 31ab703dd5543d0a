package io.lowrank.worker.comm;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    @Test
    void directoriesOfExitedProcessesAreDeletedAtLaunchOthersKept() throws Exception
    {
        final Path base = Files.createTempDirectory("aeron-base");
        try
        {
            final long deadPid = exitedProcessPid();
            final Path stale = Files.createDirectories(base.resolve("lowrank-aeron-" + deadPid + "-abc"));
            Files.write(stale.resolve("cnc.dat"), new byte[4096]);   // a torn CnC file: no heartbeat
            final Path staleEmpty = Files.createDirectories(base.resolve("lowrank-aeron-" + deadPid + "-def"));
            final Path mine = Files.createDirectories(
                base.resolve("lowrank-aeron-" + ProcessHandle.current().pid() + "-1"));
            final Path notOurs = Files.createDirectories(base.resolve("aeron-root-" + deadPid));
            final Path oddName = Files.createDirectories(base.resolve("lowrank-aeron-x-1"));

            try (EmbeddedMediaDriver liveDriver = EmbeddedMediaDriver.launch(
                new EmbeddedMediaDriver.Settings().baseDirectory(base).termLength(1 << 20)))
            {
                assertFalse(Files.exists(stale), "a directory of an exited process is deleted");
                assertFalse(Files.exists(staleEmpty), "with or without a CnC file");
                assertTrue(Files.isDirectory(mine), "this process's directories are kept");
                assertTrue(Files.isDirectory(notOurs) && Files.isDirectory(oddName), "other names are kept");

                // a live driver's directory renamed as if its pid were dead (another pid namespace): kept while
                // its heartbeat is fresh
                final Path foreign = base.resolve("lowrank-aeron-" + deadPid + "-live");
                Files.move(Path.of(liveDriver.aeronDirectoryName()), foreign);
                assertEquals(0, EmbeddedMediaDriver.deleteStaleDirectories(base));
                assertTrue(Files.isDirectory(foreign), "a driver that still heartbeats is kept");
                Files.move(foreign, Path.of(liveDriver.aeronDirectoryName()));
            }
        }
        finally
        {
            org.agrona.IoUtil.delete(base.toFile(), true);
        }
    }

    @Test
    void pidOfReadsOnlyOurNames()
    {
        assertEquals(1234, EmbeddedMediaDriver.pidOf("lowrank-aeron-1234-5f"));
        assertEquals(-1, EmbeddedMediaDriver.pidOf("lowrank-aeron-x-5f"));
        assertEquals(-1, EmbeddedMediaDriver.pidOf("lowrank-aeron-1234"));
        assertEquals(-1, EmbeddedMediaDriver.pidOf("aeron-root"));
    }

    /** The pid of a process that has exited (reuse within the test's few milliseconds is not a concern). */
    private static long exitedProcessPid() throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder("true").start();
        process.waitFor();
        final long pid = process.pid();
        assertFalse(ProcessHandle.of(pid).isPresent(), "pid " + pid + " should be gone");
        return pid;
    }
}
