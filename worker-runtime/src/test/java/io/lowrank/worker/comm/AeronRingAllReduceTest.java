package io.lowrank.worker.comm;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.lowrank.worker.comm.CommTestSupport.assertNoFailures;
import static io.lowrank.worker.comm.CommTestSupport.copies;
import static io.lowrank.worker.comm.CommTestSupport.loopbackEndpoints;
import static io.lowrank.worker.comm.CommTestSupport.randomInputs;
import static io.lowrank.worker.comm.CommTestSupport.runRanks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AeronRingAllReduceTest
{
    private static final int TEST_TERM_LENGTH = 4 * 1024 * 1024;
    private static final long PEER_TIMEOUT_MS = 2_000;

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void closeResources()
    {
        for (int i = resources.size() - 1; i >= 0; i--)
        {
            CloseHelper.quietClose(resources.get(i));
        }
    }

    @Test
    void twoRanksWithTheirOwnDriversMatchInProcessBitForBit() throws Exception
    {
        final List<RingConfig> configs = configs(2, RingConfig.MAX_MTU, 0);
        final List<AeronRingAllReduce> ring = new ArrayList<>();
        for (final RingConfig config : configs)
        {
            ring.add(track(AeronRingAllReduce.launchWithEmbeddedDriver(config)));
        }
        assertMatchesInProcess(ring, new int[] {1, 2, 3, 1001, 100_003}, ThreadLocalRandom.current().nextLong());
    }

    @Test
    void threeRanksOnASharedDriverMatchInProcessBitForBitIncludingTinyBuckets() throws Exception
    {
        final List<RingConfig> configs = configs(3, 8192, 0);
        final List<AeronRingAllReduce> ring = onSharedDriver(configs);
        assertTrue(ring.get(0).elementsPerMessage() < 2048, "test must cover several messages per chunk");
        assertMatchesInProcess(ring, new int[] {0, 1, 2, 4, 7, 2048, 50_001}, ThreadLocalRandom.current().nextLong());
    }

    @Test
    void messagesLargerThanAFrameGoThroughOfferAndStillMatch() throws Exception
    {
        final List<RingConfig> configs = configs(3, 8192, 100_000);
        final List<AeronRingAllReduce> ring = onSharedDriver(configs);
        assertTrue(configs.get(0).messageBytes() > configs.get(0).maxPayloadLength());
        assertMatchesInProcess(ring, new int[] {5, 120_001}, ThreadLocalRandom.current().nextLong());
    }

    @Test
    void severalBucketsInFlightMatchInProcess() throws Exception
    {
        final int p = 3;
        final List<AeronRingAllReduce> ring = onSharedDriver(configs(p, 8192, 0));
        final int[] bucketLengths = {3000, 1, 0, 40_000, 2, 17, 9999, 5};
        int total = 0;
        for (final int length : bucketLengths)
        {
            total += length;
        }
        final FloatBuffer[] viaRing = randomInputs(p, total, ThreadLocalRandom.current().nextLong(), false);
        final FloatBuffer[] viaInProcess = copies(viaRing);

        for (int iteration = 0; iteration < 3; iteration++)
        {
            assertNoFailures(runRanks(p, 60, rank -> submitAll(ring.get(rank), viaRing[rank], bucketLengths)));
        }
        final List<InProcessAllReduce> reference = new InProcessAllReduce.Group(p).joinAll();
        reference.forEach(this::track);
        for (int iteration = 0; iteration < 3; iteration++)
        {
            assertNoFailures(runRanks(p, 60, rank -> submitAll(reference.get(rank), viaInProcess[rank], bucketLengths)));
        }
        assertBitwiseEqual(viaInProcess, viaRing, total);
    }

    @Test
    void framesWithAWrongSessionTokenAreRejectedAndNeverSummed() throws Exception
    {
        final List<RingConfig> configs = configs(2, 8192, 0);
        final EmbeddedMediaDriver driver = track(EmbeddedMediaDriver.launch(
            EmbeddedMediaDriver.Settings.forRing(configs.get(0)).expectedLogBuffers(6)));
        final List<AeronRingAllReduce> ring = new ArrayList<>();
        for (final RingConfig config : configs)
        {
            ring.add(track(new AeronRingAllReduce(config, driver.aeronDirectoryName())));
        }

        final Aeron rogueClient = track(Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())));
        final ExclusivePublication rogue = track(rogueClient.addExclusivePublication(
            configs.get(1).publicationChannel(), configs.get(0).streamId()));
        awaitCondition("rogue publication connects to rank 0", rogue::isConnected);

        final int length = 64;
        final int frames = 5;
        final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(AllReduceFrame.HEADER_LENGTH + length * 4));
        for (int i = 0; i < frames; i++)
        {
            AllReduceFrame.encodeHeader(frame, 0, configs.get(0).sessionToken() + 1, 0, 1, 0, 1,
                RingSchedule.chunkStart(length, 2, 1), length / 2, length, 0);
            for (int e = 0; e < length / 2; e++)
            {
                frame.putFloat(AllReduceFrame.HEADER_LENGTH + e * 4, 1e30f);
            }
            final int frameLength = AllReduceFrame.HEADER_LENGTH + (length / 2) * 4;
            awaitCondition("rogue frame accepted by its publication", () -> rogue.offer(frame, 0, frameLength) > 0);
        }

        final FloatBuffer[] viaRing = randomInputs(2, length, 7, false);
        final FloatBuffer[] inputs = copies(viaRing);
        awaitCondition("rank 0 rejects the rogue frames", () -> ring.get(0).rejectedFrameCount() >= frames);
        assertNoFailures(runRanks(2, 60, rank -> ring.get(rank).allReduceSum(viaRing[rank], 0, length)));

        InProcessAllReduceTest.reduce(2, inputs, 0, length);
        assertBitwiseEqual(inputs, viaRing, length);
        assertEquals(frames, ring.get(0).rejectedFrameCount());
        assertEquals(0, ring.get(1).rejectedFrameCount());
    }

    @Test
    void aRankThatNeverJoinsFailsTheOthersWithinTheTimeoutNamingIt() throws Exception
    {
        final List<RingConfig> configs = configs(3, 8192, 0);
        final List<AeronRingAllReduce> survivors = onSharedDriver(configs.subList(0, 2));
        final FloatBuffer[] data = randomInputs(3, 1000, 3, false);

        final long startNs = System.nanoTime();
        final Throwable[] failures = runRanks(2, 60, rank -> survivors.get(rank).allReduceSum(data[rank], 0, 1000));
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);

        assertFailedNaming(failures, 2, configs.get(2).endpoint(2));
        assertTrue(elapsedMs < PEER_TIMEOUT_MS + 3_000, "failed after " + elapsedMs + " ms");
        assertThrows(AllReduceException.class, () -> survivors.get(0).submit(data[0], 0, 10));
    }

    @Test
    void aRankThatClosesMidRunFailsTheOthersWithinTheTimeoutNamingIt() throws Exception
    {
        final List<RingConfig> configs = configs(3, 8192, 0);
        final List<AeronRingAllReduce> ring = onSharedDriver(configs);
        final FloatBuffer[] data = randomInputs(3, 5000, 4, false);
        assertNoFailures(runRanks(3, 60, rank -> ring.get(rank).allReduceSum(data[rank], 0, 5000)));

        ring.get(2).close();
        final long startNs = System.nanoTime();
        final Throwable[] failures = runRanks(2, 60, rank -> ring.get(rank).allReduceSum(data[rank], 0, 5000));
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);

        assertFailedNaming(failures, 2, configs.get(2).endpoint(2));
        assertTrue(elapsedMs < PEER_TIMEOUT_MS + 3_000, "failed after " + elapsedMs + " ms");
    }

    @Test
    void mismatchedBucketLengthsAreAProtocolError() throws Exception
    {
        final List<AeronRingAllReduce> ring = onSharedDriver(configs(2, 8192, 0));
        final FloatBuffer[] data = randomInputs(2, 100, 5, false);
        final Throwable[] failures = runRanks(2, 60, rank -> ring.get(rank).allReduceSum(data[rank], 0, 90 + rank));
        boolean namedTheMismatch = false;
        for (final Throwable failure : failures)
        {
            assertTrue(failure instanceof AllReduceException, String.valueOf(failure));
            namedTheMismatch |= failure.getMessage().contains("same lengths");
        }
        assertTrue(namedTheMismatch, failures[0].getMessage() + " / " + failures[1].getMessage());
    }

    @Test
    void configRejectsInconsistentSettingsWithReasons()
    {
        final List<String> endpoints = loopbackEndpoints(2);
        final IllegalArgumentException noToken = assertThrows(IllegalArgumentException.class,
            () -> RingConfig.builder().rank(0).endpoints(endpoints).build());
        assertTrue(noToken.getMessage().contains("sessionToken"), noToken.getMessage());
        final IllegalArgumentException sharedPort = assertThrows(IllegalArgumentException.class,
            () -> RingConfig.builder().rank(0).sessionToken(1).endpoints(List.of("h:1", "h:1")).build());
        assertTrue(sharedPort.getMessage().contains("own port"), sharedPort.getMessage());
        final RingConfig config = RingConfig.builder().rank(0).sessionToken(1).endpoints(endpoints)
            .termLength(1 << 20).messageBytes(1 << 30).build();
        assertEquals((1 << 20) / 8, config.messageBytes(), "messages are capped at term length / 8");
    }

    // ----------------------------------------------------------------------------------------------------------------

    private static void submitAll(final AllReduce allReduce, final FloatBuffer data, final int[] bucketLengths)
    {
        int offset = 0;
        for (final int length : bucketLengths)
        {
            allReduce.submit(data, offset, length);
            offset += length;
        }
        allReduce.awaitAll();
    }

    private void assertMatchesInProcess(final List<? extends AllReduce> ring, final int[] lengths, final long seed)
        throws Exception
    {
        final int p = ring.size();
        for (final int length : lengths)
        {
            final FloatBuffer[] viaRing = randomInputs(p, Math.max(length, 1), seed + length, false);
            final FloatBuffer[] viaInProcess = copies(viaRing);
            assertNoFailures(runRanks(p, 60, rank -> ring.get(rank).allReduceSum(viaRing[rank], 0, length)));
            InProcessAllReduceTest.reduce(p, viaInProcess, 0, length);
            assertBitwiseEqual(viaInProcess, viaRing, length);
        }
    }

    private static void assertBitwiseEqual(final FloatBuffer[] expected, final FloatBuffer[] actual, final int length)
    {
        for (int r = 0; r < expected.length; r++)
        {
            for (int i = 0; i < length; i++)
            {
                final int expectedBits = Float.floatToRawIntBits(expected[r].get(i));
                final int actualBits = Float.floatToRawIntBits(actual[r].get(i));
                if (expectedBits != actualBits)
                {
                    throw new AssertionError("rank " + r + " element " + i + " of " + length + ": expected " +
                        expected[r].get(i) + " but the ring gave " + actual[r].get(i));
                }
            }
        }
    }

    private static void assertFailedNaming(final Throwable[] failures, final int rank, final String endpoint)
    {
        for (int r = 0; r < failures.length; r++)
        {
            final Throwable failure = failures[r];
            assertNotNull(failure, "rank " + r + " should have failed");
            assertTrue(failure instanceof AllReduceException, failure.toString());
            final String message = failure.getMessage();
            assertTrue(message.contains("rank " + rank + " (" + endpoint + ")"),
                "rank " + r + "'s failure should name rank " + rank + " at " + endpoint + ": " + message);
        }
    }

    private List<RingConfig> configs(final int worldSize, final int mtu, final int messageBytes)
    {
        final List<String> endpoints = loopbackEndpoints(worldSize);
        final long token = ThreadLocalRandom.current().nextLong();
        final List<RingConfig> configs = new ArrayList<>();
        for (int rank = 0; rank < worldSize; rank++)
        {
            configs.add(RingConfig.builder()
                .rank(rank)
                .endpoints(endpoints)
                .sessionToken(token)
                .termLength(TEST_TERM_LENGTH)
                .mtu(mtu)
                .receiverWindowBytes(TEST_TERM_LENGTH / 2)
                .messageBytes(messageBytes)
                .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(PEER_TIMEOUT_MS))
                .build());
        }
        return configs;
    }

    private List<AeronRingAllReduce> onSharedDriver(final List<RingConfig> configs)
    {
        final EmbeddedMediaDriver driver = track(EmbeddedMediaDriver.launch(
            EmbeddedMediaDriver.Settings.forRing(configs.get(0)).expectedLogBuffers(2 * configs.size())));
        final List<AeronRingAllReduce> ring = new ArrayList<>();
        for (final RingConfig config : configs)
        {
            ring.add(track(new AeronRingAllReduce(config, driver.aeronDirectoryName())));
        }
        return ring;
    }

    private <T extends AutoCloseable> T track(final T resource)
    {
        resources.add(resource);
        return resource;
    }

    private static void awaitCondition(final String what, final BooleanSupplier condition)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        final YieldingIdleStrategy idle = new YieldingIdleStrategy();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadlineNs)
            {
                throw new AssertionError("timed out waiting for: " + what);
            }
            idle.idle();
        }
    }
}
