package io.lowrank.worker.comm;

import io.aeron.Aeron;
import io.aeron.ControlledFragmentAssembler;
import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.exceptions.AeronException;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Bandwidth-optimal ring all-reduce over Aeron UDP: reduce-scatter then all-gather, {@code 2(p-1)} steps, each rank
 * publishing to its right neighbour {@code (rank + 1) mod p} and subscribing on its own endpoint, fed by its left
 * neighbour. The summation order is fixed (see {@link RingSchedule}), so results are reproducible bit for bit and
 * identical to {@link InProcessAllReduce}.
 *
 * <p><b>Pipelining.</b> Each chunk is cut into messages of {@link RingConfig#messageBytes()} (by default one Aeron
 * frame, so messages are written straight into the term with {@code tryClaim} and read straight from it, no
 * reassembly). A rank forwards a message of step {@code s + 1} as soon as it has summed (or copied) the matching
 * message of step {@code s}, so all steps stream concurrently around the ring.
 *
 * <p><b>Back-pressure.</b> The communication thread never blocks: each duty cycle it polls its subscription, then
 * publishes what is ready until the publication pushes back, and idles with the configured idle strategy when neither
 * made progress. Frames for a later bucket are left in the log ({@code ABORT}) until that bucket starts, so a fast
 * neighbour is slowed by Aeron flow control, not by buffering here.
 *
 * <p><b>Failure.</b> Frames with another session token are rejected and counted ({@link #rejectedFrameCount()}),
 * never summed. A neighbour that sends nothing, or does not consume, for {@link RingConfig#peerTimeoutNs()} fails the
 * bucket with an {@link AllReduceException} naming its rank and endpoint. There is no reconnection: rebuild the ring.
 */
public final class AeronRingAllReduce extends AbstractBucketAllReduce implements ControlledFragmentHandler
{
    private static final int FRAGMENT_LIMIT = 64;
    private static final int SEND_BURST = 64;
    private static final int NO_SESSION = Integer.MIN_VALUE;

    private final RingConfig config;
    private final EmbeddedMediaDriver ownedDriver;
    private final Aeron aeron;
    private final ExclusivePublication publication;
    private final Subscription subscription;
    private final ControlledFragmentAssembler fragmentAssembler;
    private final BufferClaim bufferClaim = new BufferClaim();
    private final UnsafeBuffer bucketView = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer offerHeader = new UnsafeBuffer(ByteBuffer.allocateDirect(AllReduceFrame.HEADER_LENGTH));
    private final int maxPayloadLength;
    private final int elementsPerMessage;
    private final int leftRank;
    private final int rightRank;
    private final int stepCount;
    private final long sessionToken;
    private final long peerTimeoutNs;

    // Per-bucket state, agent thread only.
    private final int[] chunkStartByChunk;
    private final int[] messagesByChunk;
    private final int[] sentByStep;
    private final int[] receivedByStep;
    private boolean bucketActive;
    private long bucketSequence = -1;
    private int bucketLength;
    private long totalToSend;
    private long totalToReceive;
    private long sentTotal;
    private long receivedTotal;
    private long receivedAtLastCheck;
    private long lastReceiveProgressNs;
    private long sendBlockedSinceNs;
    private long lastPublishResult;
    private boolean publicationEverConnected;
    private AllReduceException pendingFailure;
    private volatile int leftSessionId = NO_SESSION;

    // Written by one thread, read by any.
    private volatile long rejectedFrameCount;
    private volatile String lastRejectedFrameSource;
    private volatile boolean leftImageLost;
    private volatile Throwable aeronError;

    /**
     * Joins the ring through a media driver that is already running (one per host, or an
     * {@link EmbeddedMediaDriver}); the driver should use the timeouts {@link RingConfig} documents.
     *
     * @param aeronDirectoryName the driver's directory.
     */
    public AeronRingAllReduce(final RingConfig config, final String aeronDirectoryName)
    {
        this(config, aeronDirectoryName, null);
    }

    /**
     * Starts an {@link EmbeddedMediaDriver} tuned from {@code config} (checking /dev/shm) and joins the ring through
     * it; {@link #close()} also stops the driver and deletes its directory.
     */
    public static AeronRingAllReduce launchWithEmbeddedDriver(final RingConfig config)
    {
        final EmbeddedMediaDriver driver = EmbeddedMediaDriver.launchFor(config, 1);
        try
        {
            return new AeronRingAllReduce(config, driver.aeronDirectoryName(), driver);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietClose(driver);
            throw ex;
        }
    }

    private AeronRingAllReduce(
        final RingConfig config, final String aeronDirectoryName, final EmbeddedMediaDriver ownedDriver)
    {
        super(config.rank(), config.worldSize(), config.maxBucketsInFlight(), config.newIdleStrategy());
        this.config = config;
        this.ownedDriver = ownedDriver;
        this.leftRank = config.leftRank();
        this.rightRank = config.rightRank();
        this.stepCount = RingSchedule.stepCount(config.worldSize());
        this.sessionToken = config.sessionToken();
        this.peerTimeoutNs = config.peerTimeoutNs();
        this.chunkStartByChunk = new int[config.worldSize() + 1];
        this.messagesByChunk = new int[config.worldSize()];
        this.sentByStep = new int[Math.max(1, stepCount)];
        this.receivedByStep = new int[Math.max(1, stepCount)];

        final long driverTimeoutMs = TimeUnit.NANOSECONDS.toMillis(config.aeronClientLivenessTimeoutNs());
        Aeron aeron = null;
        try
        {
            aeron = Aeron.connect(new Aeron.Context()
                .aeronDirectoryName(aeronDirectoryName)
                .driverTimeoutMs(driverTimeoutMs)
                .errorHandler(this::onAeronError)
                .clientName("lowrank-allreduce-rank-" + config.rank()));
            this.aeron = aeron;
            this.subscription = addSubscription(aeron, config);
            this.publication = aeron.addExclusivePublication(config.publicationChannel(), config.streamId());
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietClose(aeron);
            throw ex;
        }

        this.maxPayloadLength = publication.maxPayloadLength();
        final int messageBytes = Math.min(config.messageBytes(), publication.maxMessageLength());
        this.elementsPerMessage = (messageBytes - AllReduceFrame.HEADER_LENGTH) / Float.BYTES;
        this.fragmentAssembler = new ControlledFragmentAssembler(
            this, Math.max(messageBytes, 4096), true);

        startAgent(config.newIdleStrategy());
    }

    private Subscription addSubscription(final Aeron aeron, final RingConfig config)
    {
        try
        {
            return aeron.addSubscription(
                config.subscriptionChannel(), config.streamId(), this::onAvailableImage, this::onUnavailableImage);
        }
        catch (final AeronException ex)
        {
            throw new AllReduceException("rank " + config.rank() + " cannot receive on its endpoint " +
                config.endpoint(config.rank()) + ": " + ex.getMessage() + ". Is the port used by another process " +
                "or an earlier run still alive? Publish a free port in the rendezvous.", ex);
        }
    }

    /**
     * @return frames rejected because they carried another session token (or were too short to carry one).
     */
    public long rejectedFrameCount()
    {
        return rejectedFrameCount;
    }

    /**
     * @param systemCounterId one of Aeron's {@code AeronCounters.SYSTEM_COUNTER_ID_*} (NAKs, retransmits, errors...).
     * @return the media driver's system counter, for diagnostics (the driver is shared with every client of it).
     */
    public long driverSystemCounter(final int systemCounterId)
    {
        return aeron.countersReader().getCounterValue(systemCounterId);
    }

    public RingConfig config()
    {
        return config;
    }

    /**
     * @return elements per message (payload of one all-reduce frame).
     */
    public int elementsPerMessage()
    {
        return elementsPerMessage;
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Agent thread
    // ----------------------------------------------------------------------------------------------------------------

    @Override
    void onBucketStart(final BucketHandle bucket)
    {
        final int p = worldSize();
        bucketSequence = bucket.sequence;
        bucketLength = bucket.length;
        bucketView.wrap(bucket.address, bucket.length * Float.BYTES);

        for (int chunk = 0; chunk < p; chunk++)
        {
            final int chunkLength = RingSchedule.chunkLength(bucketLength, p, chunk);
            chunkStartByChunk[chunk] = RingSchedule.chunkStart(bucketLength, p, chunk);
            messagesByChunk[chunk] = (chunkLength + elementsPerMessage - 1) / elementsPerMessage;
        }
        chunkStartByChunk[p] = bucketLength;

        totalToSend = 0;
        totalToReceive = 0;
        for (int step = 0; step < stepCount; step++)
        {
            sentByStep[step] = 0;
            receivedByStep[step] = 0;
            totalToSend += messagesByChunk[RingSchedule.sendChunk(rank(), p, step)];
            totalToReceive += messagesByChunk[RingSchedule.receiveChunk(rank(), p, step)];
        }
        sentTotal = 0;
        receivedTotal = 0;
        receivedAtLastCheck = 0;
        lastReceiveProgressNs = System.nanoTime();
        sendBlockedSinceNs = 0;
        lastPublishResult = 0;
        pendingFailure = null;
        bucketActive = totalToSend > 0 || totalToReceive > 0;
    }

    @Override
    int doBucketWork(final BucketHandle bucket)
    {
        throwIfAeronFailed();
        int workCount = subscription.controlledPoll(fragmentAssembler, FRAGMENT_LIMIT);
        if (null != pendingFailure)
        {
            throw pendingFailure;
        }

        final long nowNs = System.nanoTime();
        if (!publicationEverConnected && publication.isConnected())
        {
            publicationEverConnected = true;
        }
        workCount += publishReadyMessages(nowNs);

        if (receivedTotal != receivedAtLastCheck)
        {
            receivedAtLastCheck = receivedTotal;
            lastReceiveProgressNs = nowNs;
        }

        if (sentTotal == totalToSend && receivedTotal == totalToReceive)
        {
            bucketActive = false;
        }
        else
        {
            checkDeadlines(nowNs);
        }

        return workCount;
    }

    @Override
    boolean isBucketComplete()
    {
        return !bucketActive;
    }

    @Override
    int doIdleWork()
    {
        throwIfAeronFailed();
        final int workCount = subscription.controlledPoll(fragmentAssembler, FRAGMENT_LIMIT);
        if (null != pendingFailure)
        {
            throw pendingFailure;
        }
        return workCount;
    }

    @Override
    void closeResources()
    {
        CloseHelper.quietCloseAll(publication, subscription, aeron, ownedDriver);
    }

    /**
     * Publishes, highest step first (forwarding keeps the pipeline moving), every message whose data is ready:
     * step 0 sends this rank's own chunk; step {@code s > 0} forwards what arrived at step {@code s - 1}.
     */
    private int publishReadyMessages(final long nowNs)
    {
        int workCount = 0;
        for (int step = stepCount - 1; step >= 0; step--)
        {
            final int ready = 0 == step ?
                messagesByChunk[RingSchedule.sendChunk(rank(), worldSize(), 0)] : receivedByStep[step - 1];
            while (sentByStep[step] < ready)
            {
                if (workCount >= SEND_BURST)
                {
                    return workCount;
                }
                final long result = publishMessage(step, sentByStep[step]);
                if (result < 0)
                {
                    onPublishRefused(result, nowNs);
                    return workCount;
                }
                sentByStep[step]++;
                sentTotal++;
                workCount++;
                sendBlockedSinceNs = 0;
                publicationEverConnected = true;
            }
        }
        return workCount;
    }

    private long publishMessage(final int step, final int messageIndex)
    {
        final int chunk = RingSchedule.sendChunk(rank(), worldSize(), step);
        final int elementOffset = chunkStartByChunk[chunk] + messageIndex * elementsPerMessage;
        final int elementCount = Math.min(elementsPerMessage, chunkStartByChunk[chunk + 1] - elementOffset);
        final int payloadBytes = elementCount * Float.BYTES;
        final int messageLength = AllReduceFrame.HEADER_LENGTH + payloadBytes;

        if (messageLength <= maxPayloadLength)
        {
            final BufferClaim claim = bufferClaim;
            final long result = publication.tryClaim(messageLength, claim);
            if (result > 0)
            {
                final MutableDirectBuffer termBuffer = claim.buffer();
                final int offset = claim.offset();
                AllReduceFrame.encodeHeader(termBuffer, offset, sessionToken, bucketSequence, rank(), step, chunk,
                    elementOffset, elementCount, bucketLength, messageIndex);
                termBuffer.putBytes(
                    offset + AllReduceFrame.HEADER_LENGTH, bucketView, elementOffset * Float.BYTES, payloadBytes);
                claim.commit();
            }
            return result;
        }

        AllReduceFrame.encodeHeader(offerHeader, 0, sessionToken, bucketSequence, rank(), step, chunk,
            elementOffset, elementCount, bucketLength, messageIndex);
        return publication.offer(
            offerHeader, 0, AllReduceFrame.HEADER_LENGTH, bucketView, elementOffset * Float.BYTES, payloadBytes, null);
    }

    private void onPublishRefused(final long result, final long nowNs)
    {
        lastPublishResult = result;
        if (Publication.BACK_PRESSURED == result || Publication.NOT_CONNECTED == result ||
            Publication.ADMIN_ACTION == result)
        {
            if (0 == sendBlockedSinceNs)
            {
                sendBlockedSinceNs = nowNs;
            }
            return;
        }
        if (Publication.CLOSED == result)
        {
            throw new AllReduceException(describeSelf() + ", bucket " + bucketSequence +
                ": the publication to rank " + rightRank + " was closed (the all-reduce or its Aeron client was " +
                "closed, or the media driver stopped): rebuild the ring");
        }
        throw new AllReduceException(describeSelf() + ", bucket " + bucketSequence + ": the publication to rank " +
            rightRank + " refused a message with code " + result + " (" + Publication.errorString(result) +
            "): rebuild the ring");
    }

    private void checkDeadlines(final long nowNs)
    {
        if (0 != sendBlockedSinceNs && nowNs - sendBlockedSinceNs > peerTimeoutNs)
        {
            throw rightNeighbourFailure(nowNs - sendBlockedSinceNs);
        }
        if (receivedTotal < totalToReceive && nowNs - lastReceiveProgressNs > peerTimeoutNs)
        {
            if (!publication.isConnected())
            {
                throw rightNeighbourFailure(nowNs - lastReceiveProgressNs);
            }
            throw leftNeighbourFailure(nowNs - lastReceiveProgressNs);
        }
    }

    private AllReduceException rightNeighbourFailure(final long stalledNs)
    {
        final String what;
        if (!publication.isConnected())
        {
            what = publicationEverConnected ? "lost its connection (it stopped acknowledging)" : "never connected";
        }
        else
        {
            what = "stopped consuming (back-pressured, last publication result " +
                Publication.errorString(lastPublishResult) + ")";
        }
        return new AllReduceException(describeSelf() + ", bucket " + bucketSequence + ": right neighbour rank " +
            rightRank + " (" + config.endpoint(rightRank) + ") " + what + " for " + millis(stalledNs) + " ms (sent " +
            sentTotal + " of " + totalToSend + " messages). The peer process died, hung, has not started, or its " +
            "endpoint is unreachable (firewall, wrong host:port in the rendezvous). Rebuild the ring (retry the " +
            "training stage from the last checkpoint); if peers legitimately stall longer (GC, checkpoint writes), " +
            "raise RingConfig peerTimeout (now " + millis(peerTimeoutNs) + " ms)." + rejectedFramesNote());
    }

    private AllReduceException leftNeighbourFailure(final long stalledNs)
    {
        final String stream;
        if (NO_SESSION == leftSessionId)
        {
            stream = subscription.imageCount() == 0 ? "its stream never connected" :
                "it sent nothing for this ring yet";
        }
        else
        {
            stream = leftImageLost ? "its stream was lost" :
                "its stream is connected, so it is alive but stuck (hung, paused, or waiting on its own left " +
                "neighbour rank " + Math.floorMod(leftRank - 1, worldSize()) + ")";
        }
        return new AllReduceException(describeSelf() + ", bucket " + bucketSequence + ": no data from left " +
            "neighbour rank " + leftRank + " (" + config.endpoint(leftRank) + ") for " + millis(stalledNs) +
            " ms; " + stream + " (received " + receivedTotal + " of " + totalToReceive + " messages). The peer " +
            "process died, hung, has not started, or cannot reach this rank's endpoint " + config.endpoint(rank()) +
            ". Rebuild the ring (retry the training stage from the last checkpoint); if peers legitimately stall " +
            "longer (GC, checkpoint writes), raise RingConfig peerTimeout (now " + millis(peerTimeoutNs) + " ms)." +
            rejectedFramesNote());
    }

    private String rejectedFramesNote()
    {
        final long rejected = rejectedFrameCount;
        return 0 == rejected ? "" : " Also rejected " + rejected + " frames with a foreign session token, last from " +
            lastRejectedFrameSource + ": a process of another run or ring is sending to this endpoint.";
    }

    private static long millis(final long nanos)
    {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /**
     * Handles one whole all-reduce message (the assembler reassembles messages larger than a frame).
     */
    @Override
    public Action onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (length < AllReduceFrame.HEADER_LENGTH)
        {
            rejectFrame(header, "a " + length + "-byte frame, shorter than the all-reduce header");
            return Action.CONTINUE;
        }
        final long token = AllReduceFrame.sessionToken(buffer, offset);
        if (token != sessionToken)
        {
            rejectFrame(header, "a frame with session token 0x" + Long.toHexString(token) + " instead of 0x" +
                Long.toHexString(sessionToken));
            return Action.CONTINUE;
        }

        final long sequence = AllReduceFrame.bucketSequence(buffer, offset);
        if (!bucketActive || sequence > bucketSequence)
        {
            if (sequence <= bucketSequence)
            {
                return protocolError("a frame of bucket " + sequence + ", which this rank has already finished; " +
                    "left neighbour rank " + leftRank + " is out of step (did it restart or submit extra buckets?)");
            }
            return Action.ABORT;
        }
        if (sequence < bucketSequence)
        {
            return protocolError("a frame of bucket " + sequence + " while reducing bucket " + bucketSequence);
        }

        final int version = AllReduceFrame.version(buffer, offset);
        final int sender = AllReduceFrame.senderRank(buffer, offset);
        final int step = AllReduceFrame.step(buffer, offset);
        if (AllReduceFrame.VERSION != version || sender != leftRank || step < 0 || step >= stepCount)
        {
            return protocolError("a frame from rank " + sender + " (expected left neighbour rank " + leftRank +
                ") with version " + version + " and step " + step + ": the ranks disagree on the ring (same " +
                "endpoints list and world size on every rank?)");
        }

        final int p = worldSize();
        final int chunk = RingSchedule.receiveChunk(rank(), p, step);
        final int messageIndex = receivedByStep[step];
        final int elementOffset = chunkStartByChunk[chunk] + messageIndex * elementsPerMessage;
        final int elementCount = Math.min(elementsPerMessage, chunkStartByChunk[chunk + 1] - elementOffset);
        final int frameBucketLength = AllReduceFrame.bucketLength(buffer, offset);
        if (frameBucketLength != bucketLength)
        {
            return protocolError("rank " + sender + " reduces " + frameBucketLength + " elements in bucket " +
                sequence + " but this rank submitted " + bucketLength + ": every rank must submit buckets of the " +
                "same lengths in the same order");
        }
        if (AllReduceFrame.chunkIndex(buffer, offset) != chunk ||
            AllReduceFrame.messageIndex(buffer, offset) != messageIndex ||
            messageIndex >= messagesByChunk[chunk] ||
            AllReduceFrame.elementOffset(buffer, offset) != elementOffset ||
            AllReduceFrame.elementCount(buffer, offset) != elementCount ||
            length != AllReduceFrame.HEADER_LENGTH + elementCount * Float.BYTES)
        {
            return protocolError("an unexpected frame at step " + step + ": chunk " +
                AllReduceFrame.chunkIndex(buffer, offset) + " message " + AllReduceFrame.messageIndex(buffer, offset) +
                " elements [" + AllReduceFrame.elementOffset(buffer, offset) + ", +" +
                AllReduceFrame.elementCount(buffer, offset) + ") where chunk " + chunk + " message " + messageIndex +
                " elements [" + elementOffset + ", +" + elementCount + ") was due: the ranks use different " +
                "message sizes (same RingConfig mtu and messageBytes on every rank?)");
        }

        final int payloadOffset = offset + AllReduceFrame.HEADER_LENGTH;
        final UnsafeBuffer local = bucketView;
        final int localOffset = elementOffset * Float.BYTES;
        if (RingSchedule.isReduceStep(p, step))
        {
            for (int i = 0, bytes = elementCount * Float.BYTES; i < bytes; i += Float.BYTES)
            {
                local.putFloat(localOffset + i, buffer.getFloat(payloadOffset + i) + local.getFloat(localOffset + i));
            }
        }
        else
        {
            local.putBytes(localOffset, buffer, payloadOffset, elementCount * Float.BYTES);
        }

        receivedByStep[step] = messageIndex + 1;
        receivedTotal++;
        if (NO_SESSION == leftSessionId)
        {
            leftSessionId = header.sessionId();
        }
        return Action.CONTINUE;
    }

    private Action protocolError(final String what)
    {
        if (null == pendingFailure)
        {
            pendingFailure = new AllReduceException(describeSelf() + ", bucket " + bucketSequence + ": received " +
                what + ". Rebuild the ring.");
        }
        return Action.ABORT;
    }

    private void rejectFrame(final Header header, final String what)
    {
        final Object context = header.context();
        final String source = (context instanceof Image ? ((Image)context).sourceIdentity() : "unknown source") +
            " (Aeron session " + header.sessionId() + ")";
        final long count = rejectedFrameCount + 1;
        rejectedFrameCount = count;
        lastRejectedFrameSource = source;
        if ((count & (count - 1)) == 0)
        {
            System.err.println(describeSelf() + " rejected " + what + " from " + source + " (" + count +
                " rejected so far); it was not summed. A process of another run or ring is sending to this " +
                "endpoint " + config.endpoint(rank()) + ": stop it, or give each run its own ports.");
        }
    }

    private void throwIfAeronFailed()
    {
        final Throwable error = aeronError;
        if (null != error)
        {
            throw new AllReduceException(describeSelf() + ": the Aeron client failed: " + error + ". If the media " +
                "driver is gone (DriverTimeoutException), its process died or paused longer than the driver " +
                "timeout; rebuild the ring.", error);
        }
    }

    private void onAeronError(final Throwable error)
    {
        if (error instanceof AeronException && ((AeronException)error).category() == AeronException.Category.WARN)
        {
            System.err.println(describeSelf() + ": Aeron warning: " + error);
            return;
        }
        if (null == aeronError)
        {
            aeronError = error;
        }
    }

    private void onAvailableImage(final Image image)
    {
        if (image.sessionId() == leftSessionId)
        {
            leftImageLost = false;
        }
    }

    private void onUnavailableImage(final Image image)
    {
        if (image.sessionId() == leftSessionId)
        {
            leftImageLost = true;
        }
    }
}
