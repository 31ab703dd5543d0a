package io.lowrank.worker.comm;

import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * An Aeron media driver inside this JVM, in its own directory (unique per run) under /dev/shm, tuned for bulk
 * gradient traffic and deleted on {@link #close()}.
 *
 * <p>At start it deletes the directories of drivers whose processes exited without {@link #close()} (see
 * {@link #deleteStaleDirectories(Path)}), then checks that the directory's file system has room for the log
 * buffers it will map and fails with how to fix it. Log buffers are allocated up front, not as sparse files: with
 * sparse files a too-small /dev/shm shows up later as a SIGBUS or an obscure Aeron failure in the middle of
 * training, and first touches of fresh pages slow the first steps.
 *
 * <p>Threading: {@link ThreadingMode#SHARED} by default (one driver thread that backs off when idle), which fits
 * machines with few cores shared with the trainer; {@link ThreadingMode#DEDICATED} gives the sender and receiver their
 * own threads on larger machines.
 */
public final class EmbeddedMediaDriver implements AutoCloseable
{
    /** Space for the CnC file, loss report and error log, beyond the log buffers. */
    private static final long DRIVER_OVERHEAD_BYTES = 32L * 1024 * 1024;
    /** Directory names: PREFIX + pid + "-" + random hex. */
    static final String DIRECTORY_PREFIX = "lowrank-aeron-";
    /** A driver whose CnC heartbeat is older than this is not running. */
    private static final long STALE_DRIVER_TIMEOUT_MS = 10_000;

    private final MediaDriver mediaDriver;
    private final File directory;
    private final Settings settings;
    private boolean closed;

    private EmbeddedMediaDriver(final MediaDriver mediaDriver, final File directory, final Settings settings)
    {
        this.mediaDriver = mediaDriver;
        this.directory = directory;
        this.settings = settings;
    }

    /**
     * Checks the space, creates a unique directory and starts the driver.
     *
     * @throws IllegalStateException if the file system lacks room, with how to fix it.
     */
    public static EmbeddedMediaDriver launch(final Settings settings)
    {
        Objects.requireNonNull(settings, "settings");
        final Path baseDirectory = settings.baseDirectory;
        final int stale = deleteStaleDirectories(baseDirectory);
        if (stale > 0)
        {
            System.err.println("EmbeddedMediaDriver: deleted " + stale + " Aeron directories in " + baseDirectory +
                " left by exited processes");
        }
        checkFreeSpace(baseDirectory, settings.requiredBytes(), settings);

        final String name = DIRECTORY_PREFIX + ProcessHandle.current().pid() + "-" +
            Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        final File directory = baseDirectory.resolve(name).toFile();

        final long clientLivenessNs = settings.clientLivenessTimeoutNs;
        final MediaDriver.Context context = new MediaDriver.Context()
            .aeronDirectoryName(directory.getAbsolutePath())
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .warnIfDirectoryExists(false)
            .printConfigurationOnStart(false)
            .termBufferSparseFile(false)
            .performStorageChecks(true)
            .threadingMode(settings.threadingMode)
            .sharedIdleStrategy(settings.idleStrategySupplier.get())
            .sharedNetworkIdleStrategy(settings.idleStrategySupplier.get())
            .senderIdleStrategy(settings.idleStrategySupplier.get())
            .receiverIdleStrategy(settings.idleStrategySupplier.get())
            .conductorIdleStrategy(new BackoffIdleStrategy(
                10, 10, TimeUnit.MICROSECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(1)))
            .mtuLength(settings.mtu)
            .socketSndbufLength(settings.socketBufferBytes)
            .socketRcvbufLength(settings.socketBufferBytes)
            .initialWindowLength(settings.receiverWindowBytes)
            .publicationTermBufferLength(settings.termLength)
            .ipcTermBufferLength(settings.termLength)
            .timerIntervalNs(settings.timerIntervalNs)
            .imageLivenessTimeoutNs(settings.connectionTimeoutNs)
            .publicationConnectionTimeoutNs(settings.connectionTimeoutNs)
            .clientLivenessTimeoutNs(clientLivenessNs)
            .publicationUnblockTimeoutNs(clientLivenessNs + clientLivenessNs / 2);

        final MediaDriver mediaDriver;
        try
        {
            mediaDriver = MediaDriver.launchEmbedded(context);
        }
        catch (final RuntimeException ex)
        {
            IoUtil.delete(directory, true);
            throw new IllegalStateException("could not start the Aeron media driver in " + directory + ": " + ex +
                " (is " + baseDirectory + " writable and large enough? see EmbeddedMediaDriver.Settings)", ex);
        }
        return new EmbeddedMediaDriver(mediaDriver, directory, settings);
    }

    /**
     * Starts a driver tuned for {@code config}'s MTU, windows, term length and timeouts, with room for one
     * publication and one image per ring rank that will share it.
     */
    public static EmbeddedMediaDriver launchFor(final RingConfig config, final int ringsSharingThisDriver)
    {
        return launch(Settings.forRing(config).expectedLogBuffers(2 * Math.max(1, ringsSharingThisDriver)));
    }

    /**
     * Deletes the driver directories ({@value #DIRECTORY_PREFIX}pid-*) that processes left behind when they exited
     * without {@link #close()}: executor JVMs that Spark kills at the end of an application, crashes. Each holds
     * its log buffers (about 240 MB at the default term length) in /dev/shm until the machine reboots, so without
     * this a host that runs many applications fills /dev/shm and then RAM (seen here: 67 of them, 11 GB). A
     * directory is stale when its pid is not a live process and its driver has not written a heartbeat for
     * {@value #STALE_DRIVER_TIMEOUT_MS} ms (the heartbeat check keeps a directory that a live driver in another pid
     * namespace, a container sharing this /dev/shm, still uses).
     *
     * @return how many directories were deleted.
     */
    static int deleteStaleDirectories(final Path baseDirectory)
    {
        final File[] candidates = baseDirectory.toFile().listFiles(
            (dir, name) -> name.startsWith(DIRECTORY_PREFIX) && new File(dir, name).isDirectory());
        if (candidates == null)
        {
            return 0;
        }
        int deleted = 0;
        for (final File candidate : candidates)
        {
            final long pid = pidOf(candidate.getName());
            if (pid < 0 || ProcessHandle.of(pid).isPresent())   // not ours, or its process (maybe this one) lives
            {
                continue;
            }
            boolean active;
            try
            {
                // isDriverActive waits out its whole timeout for a CnC file that was never initialised
                active = cncVersion(candidate) != 0 &&
                    CommonContext.isDriverActive(candidate, STALE_DRIVER_TIMEOUT_MS, message -> {});
            }
            catch (final RuntimeException unreadableCncFile)
            {
                active = false;   // its process is gone and its CnC file is torn: nobody can be using it
            }
            if (!active)
            {
                IoUtil.delete(candidate, true);
                if (!candidate.exists())
                {
                    deleted++;
                }
            }
        }
        return deleted;
    }

    /** The CnC file's version field (0 when it is missing, short or was never initialised). */
    private static int cncVersion(final File driverDirectory)
    {
        final File cnc = new File(driverDirectory, CncFileDescriptor.CNC_FILE);
        try (FileChannel channel = FileChannel.open(cnc.toPath(), StandardOpenOption.READ))
        {
            final ByteBuffer version = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.nativeOrder());
            channel.read(version, CncFileDescriptor.cncVersionOffset(0));
            return version.position() == Integer.BYTES ? version.getInt(0) : 0;
        }
        catch (final IOException missingOrUnreadable)
        {
            return 0;
        }
    }

    /** The pid in a driver directory's name, or -1 if the name is not one of ours. */
    static long pidOf(final String directoryName)
    {
        final int start = DIRECTORY_PREFIX.length();
        final int end = directoryName.indexOf('-', start);
        if (!directoryName.startsWith(DIRECTORY_PREFIX) || end <= start)
        {
            return -1;
        }
        try
        {
            return Long.parseLong(directoryName.substring(start, end));
        }
        catch (final NumberFormatException notOurs)
        {
            return -1;
        }
    }

    static void checkFreeSpace(final Path baseDirectory, final long requiredBytes, final Settings settings)
    {
        if (!Files.isDirectory(baseDirectory))
        {
            throw new IllegalStateException("Aeron base directory " + baseDirectory + " does not exist: create it, " +
                "mount a tmpfs there, or choose another with EmbeddedMediaDriver.Settings.baseDirectory(...)");
        }
        final long usable;
        try
        {
            usable = Files.getFileStore(baseDirectory).getUsableSpace();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read the free space of " + baseDirectory, ex);
        }
        if (usable < requiredBytes)
        {
            throw new IllegalStateException(String.format(
                "%s has %d MB free but the Aeron media driver needs about %d MB (%d log buffers of 3 x %d MB terms " +
                "plus %d MB). Fix one of: give the container a bigger /dev/shm (docker run --shm-size=%dm; on " +
                "Kubernetes mount an emptyDir with medium: Memory and a sizeLimit at /dev/shm; on YARN raise the " +
                "container's memory overhead accordingly); lower the term length (RingConfig termLength, now %d MB); " +
                "or put the Aeron directory on another file system with EmbeddedMediaDriver.Settings.baseDirectory " +
                "(slower than tmpfs).",
                baseDirectory, usable >> 20, requiredBytes >> 20, settings.expectedLogBuffers,
                settings.termLength >> 20, DRIVER_OVERHEAD_BYTES >> 20, 2 * (requiredBytes >> 20) + 64,
                settings.termLength >> 20));
        }
    }

    /**
     * @return the directory Aeron clients connect to ({@code Aeron.Context.aeronDirectoryName}).
     */
    public String aeronDirectoryName()
    {
        return directory.getAbsolutePath();
    }

    public Settings settings()
    {
        return settings;
    }

    /**
     * Stops the driver and deletes its directory.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        CloseHelper.quietClose(mediaDriver);
        IoUtil.delete(directory, true);
    }

    @Override
    public String toString()
    {
        return "EmbeddedMediaDriver{" + directory + ", " + settings.threadingMode + '}';
    }

    /**
     * Settings of an {@link EmbeddedMediaDriver}; {@link #forRing(RingConfig)} derives them from a ring.
     */
    public static final class Settings
    {
        private Path baseDirectory = defaultBaseDirectory();
        private ThreadingMode threadingMode = ThreadingMode.SHARED;
        private int mtu = RingConfig.DEFAULT_MTU;
        private int socketBufferBytes = RingConfig.DEFAULT_SOCKET_BUFFER_BYTES;
        private int receiverWindowBytes = RingConfig.DEFAULT_RECEIVER_WINDOW_BYTES;
        private int termLength = RingConfig.DEFAULT_TERM_LENGTH;
        private int expectedLogBuffers = 2;
        private long connectionTimeoutNs = TimeUnit.SECONDS.toNanos(5);
        private long clientLivenessTimeoutNs = TimeUnit.SECONDS.toNanos(20);
        private long timerIntervalNs = TimeUnit.MILLISECONDS.toNanos(500);
        private Supplier<IdleStrategy> idleStrategySupplier = Settings::defaultIdleStrategy;

        /**
         * @return the default idle strategy of the driver's data-path threads: a short back-off that parks soon
         * (spinning and yielding threads starve the trainer and the peer's threads on a few shared cores).
         */
        public static IdleStrategy defaultIdleStrategy()
        {
            return new BackoffIdleStrategy(
                10, 5, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
        }

        /**
         * @param idleStrategySupplier idle strategy of the sender, receiver (and, in SHARED mode, the conductor).
         */
        public Settings idleStrategy(final Supplier<IdleStrategy> idleStrategySupplier)
        {
            this.idleStrategySupplier = Objects.requireNonNull(idleStrategySupplier, "idleStrategySupplier");
            return this;
        }

        /**
         * @return settings matching the ring's MTU, windows, term length and timeouts (see {@link RingConfig}).
         */
        public static Settings forRing(final RingConfig config)
        {
            final Settings settings = new Settings();
            settings.mtu = config.mtu();
            settings.socketBufferBytes = config.socketBufferBytes();
            settings.receiverWindowBytes = config.receiverWindowBytes();
            settings.termLength = config.termLength();
            settings.connectionTimeoutNs = config.aeronConnectionTimeoutNs();
            settings.clientLivenessTimeoutNs = config.aeronClientLivenessTimeoutNs();
            settings.timerIntervalNs = config.aeronTimerIntervalNs();
            return settings;
        }

        /**
         * @return /dev/shm when it exists (Linux), else java.io.tmpdir.
         */
        public static Path defaultBaseDirectory()
        {
            final Path shm = Paths.get("/dev/shm");
            return Files.isDirectory(shm) ? shm : Paths.get(System.getProperty("java.io.tmpdir"));
        }

        /**
         * @param baseDirectory where the per-run directory is created; default /dev/shm.
         */
        public Settings baseDirectory(final Path baseDirectory)
        {
            this.baseDirectory = Objects.requireNonNull(baseDirectory, "baseDirectory");
            return this;
        }

        public Settings threadingMode(final ThreadingMode threadingMode)
        {
            this.threadingMode = Objects.requireNonNull(threadingMode, "threadingMode");
            return this;
        }

        /**
         * @param expectedLogBuffers publications plus images this driver will hold at once (2 per ring rank),
         *                           for the free-space check.
         */
        public Settings expectedLogBuffers(final int expectedLogBuffers)
        {
            this.expectedLogBuffers = expectedLogBuffers;
            return this;
        }

        public Settings mtu(final int mtu)
        {
            this.mtu = mtu;
            return this;
        }

        public Settings termLength(final int termLength)
        {
            this.termLength = termLength;
            return this;
        }

        /**
         * @return the bytes the free-space check asks for.
         */
        public long requiredBytes()
        {
            return expectedLogBuffers * (3L * termLength + 4096) + DRIVER_OVERHEAD_BYTES;
        }

        public Path baseDirectory()
        {
            return baseDirectory;
        }

        public ThreadingMode threadingMode()
        {
            return threadingMode;
        }
    }
}
