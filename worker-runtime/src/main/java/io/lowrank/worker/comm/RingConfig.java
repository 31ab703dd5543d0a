package io.lowrank.worker.comm;

import io.aeron.ChannelUriStringBuilder;
import io.aeron.logbuffer.LogBufferDescriptor;
import io.aeron.protocol.DataHeaderFlyweight;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Everything one rank needs to join an {@link AeronRingAllReduce}: its rank, every rank's endpoint (from the
 * rendezvous, indexed by rank; ring order = rank order), the run's session token, and the transport tuning.
 * Every rank of a ring must use the same values except {@code rank}.
 *
 * <p><b>Timeouts</b> (all derived from {@link Builder#peerTimeoutNs(long)}, default 10 s, so they stay consistent):
 * <table>
 *   <caption>timeouts</caption>
 *   <tr><td>peer timeout T</td><td>a neighbour that sends nothing, or does not consume, for T fails the bucket,
 *   naming it; must exceed the longest legitimate stall of a peer (GC, a checkpoint written between steps)</td></tr>
 *   <tr><td>image liveness, publication connection timeout</td><td>T/2 (at least 500 ms): Aeron declares a silent
 *   neighbour gone before T elapses, so the failure names the neighbour that broke, not one that starved behind it
 *   </td></tr>
 *   <tr><td>client liveness, driver timeout</td><td>max(2T, 10 s): a GC pause in a client shorter than this does
 *   not make the driver drop the client</td></tr>
 *   <tr><td>publication unblock timeout</td><td>1.5 x client liveness (Aeron requires it to exceed it)</td></tr>
 *   <tr><td>driver timer interval</td><td>T/20, between 10 ms and 1 s</td></tr>
 * </table>
 */
public final class RingConfig
{
    /**
     * 16 MB: messages are MTU-sized, so terms need not be large (a message must be <= term / 8 and the receiver
     * window <= term / 2); a smaller log stays warm in cache and page tables and costs less /dev/shm (2 logs x 3
     * terms per rank). Measured on 2-vCPU VMs: 64 MB terms were up to 10x slower for 16 MB buckets until every term
     * had been touched once, and no faster afterwards.
     */
    public static final int DEFAULT_TERM_LENGTH = 16 * 1024 * 1024;
    public static final int DEFAULT_MTU = 8192;
    /** The largest MTU Aeron allows; use it on loopback and on links with 64 KB frames. */
    public static final int MAX_MTU = 65504;
    public static final int DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
    public static final int DEFAULT_RECEIVER_WINDOW_BYTES = 4 * 1024 * 1024;
    public static final long DEFAULT_PEER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    public static final int DEFAULT_STREAM_ID = 0x4C52_4152;
    public static final int DEFAULT_MAX_BUCKETS_IN_FLIGHT = 64;
    /** Messages are never larger than this, whatever the term length (Aeron's guidance for bulk transfers). */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private final int rank;
    private final int worldSize;
    private final List<String> endpoints;
    private final long sessionToken;
    private final int termLength;
    private final int mtu;
    private final int socketBufferBytes;
    private final int receiverWindowBytes;
    private final int messageBytes;
    private final long peerTimeoutNs;
    private final int streamId;
    private final int maxBucketsInFlight;
    private final Supplier<IdleStrategy> idleStrategySupplier;

    private RingConfig(final Builder builder)
    {
        this.rank = builder.rank;
        this.worldSize = builder.worldSize;
        this.endpoints = List.copyOf(builder.endpoints);
        this.sessionToken = builder.sessionToken;
        this.termLength = builder.termLength;
        this.mtu = builder.mtu;
        this.socketBufferBytes = builder.socketBufferBytes;
        this.receiverWindowBytes = builder.receiverWindowBytes;
        this.peerTimeoutNs = builder.peerTimeoutNs;
        this.streamId = builder.streamId;
        this.maxBucketsInFlight = builder.maxBucketsInFlight;
        this.idleStrategySupplier = builder.idleStrategySupplier;
        final int largestMessage = Math.min(termLength / 8, MAX_MESSAGE_BYTES);
        this.messageBytes = 0 == builder.messageBytes ? maxPayloadLength() : Math.min(builder.messageBytes, largestMessage);
    }

    public static Builder builder()
    {
        return new Builder();
    }

    public int rank()
    {
        return rank;
    }

    public int worldSize()
    {
        return worldSize;
    }

    /**
     * @return "host:port" of every rank, indexed by rank.
     */
    public List<String> endpoints()
    {
        return endpoints;
    }

    public String endpoint(final int rank)
    {
        return endpoints.get(rank);
    }

    public long sessionToken()
    {
        return sessionToken;
    }

    public int termLength()
    {
        return termLength;
    }

    public int mtu()
    {
        return mtu;
    }

    public int socketBufferBytes()
    {
        return socketBufferBytes;
    }

    public int receiverWindowBytes()
    {
        return receiverWindowBytes;
    }

    /**
     * @return bytes per all-reduce message including its {@link AllReduceFrame} header. Messages that fit one frame
     * ({@code mtu - 32}) are published with {@code tryClaim}; larger ones with {@code offer} (Aeron fragments them).
     */
    public int messageBytes()
    {
        return messageBytes;
    }

    /**
     * @return the largest message that fits one Aeron frame: {@code mtu - 32}.
     */
    public int maxPayloadLength()
    {
        return mtu - DataHeaderFlyweight.HEADER_LENGTH;
    }

    public long peerTimeoutNs()
    {
        return peerTimeoutNs;
    }

    public int streamId()
    {
        return streamId;
    }

    public int maxBucketsInFlight()
    {
        return maxBucketsInFlight;
    }

    public IdleStrategy newIdleStrategy()
    {
        return idleStrategySupplier.get();
    }

    public int leftRank()
    {
        return (rank - 1 + worldSize) % worldSize;
    }

    public int rightRank()
    {
        return (rank + 1) % worldSize;
    }

    /**
     * @return the channel this rank publishes on: its right neighbour's endpoint.
     */
    public String publicationChannel()
    {
        return new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(endpoint(rightRank()))
            .mtu(mtu)
            .termLength(termLength)
            .socketSndbufLength(socketBufferBytes)
            .sparse(false)
            .build();
    }

    /**
     * @return the channel this rank subscribes on: its own endpoint.
     */
    public String subscriptionChannel()
    {
        return new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(endpoint(rank))
            .socketRcvbufLength(socketBufferBytes)
            .receiverWindowLength(receiverWindowBytes)
            .sparse(false)
            .build();
    }

    /**
     * @return Aeron image liveness and publication connection timeout: T/2, at least 500 ms.
     */
    public long aeronConnectionTimeoutNs()
    {
        return Math.max(TimeUnit.MILLISECONDS.toNanos(500), peerTimeoutNs / 2);
    }

    /**
     * @return Aeron client liveness (driver side) and driver timeout (client side): max(2T, 10 s).
     */
    public long aeronClientLivenessTimeoutNs()
    {
        return Math.max(2 * peerTimeoutNs, TimeUnit.SECONDS.toNanos(10));
    }

    /**
     * @return Aeron driver timer interval: T/20 within [10 ms, 1 s].
     */
    public long aeronTimerIntervalNs()
    {
        return Math.min(TimeUnit.SECONDS.toNanos(1), Math.max(TimeUnit.MILLISECONDS.toNanos(10), peerTimeoutNs / 20));
    }

    @Override
    public String toString()
    {
        return "RingConfig{rank=" + rank + ", worldSize=" + worldSize + ", endpoints=" + endpoints +
            ", termLength=" + termLength + ", mtu=" + mtu + ", socketBufferBytes=" + socketBufferBytes +
            ", receiverWindowBytes=" + receiverWindowBytes + ", messageBytes=" + messageBytes +
            ", peerTimeoutMs=" + TimeUnit.NANOSECONDS.toMillis(peerTimeoutNs) + ", streamId=" + streamId + '}';
    }

    /**
     * Builds a {@link RingConfig}; {@link #build()} checks the values and says what is wrong.
     */
    public static final class Builder
    {
        private int rank = -1;
        private int worldSize = -1;
        private List<String> endpoints;
        private long sessionToken;
        private boolean sessionTokenSet;
        private int termLength = DEFAULT_TERM_LENGTH;
        private int mtu = DEFAULT_MTU;
        private int socketBufferBytes = DEFAULT_SOCKET_BUFFER_BYTES;
        private int receiverWindowBytes = -1;
        private int messageBytes;
        private long peerTimeoutNs = DEFAULT_PEER_TIMEOUT_NS;
        private int streamId = DEFAULT_STREAM_ID;
        private int maxBucketsInFlight = DEFAULT_MAX_BUCKETS_IN_FLIGHT;
        private Supplier<IdleStrategy> idleStrategySupplier = () -> new BackoffIdleStrategy(
            20, 50, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));

        private Builder()
        {
        }

        public Builder rank(final int rank)
        {
            this.rank = rank;
            return this;
        }

        /**
         * Optional: defaults to {@code endpoints.size()}; when given it must match.
         */
        public Builder worldSize(final int worldSize)
        {
            this.worldSize = worldSize;
            return this;
        }

        /**
         * @param endpoints "host:port" of every rank, indexed by rank; each rank receives on its own endpoint.
         */
        public Builder endpoints(final List<String> endpoints)
        {
            this.endpoints = endpoints;
            return this;
        }

        /**
         * @param sessionToken a per-run random 64-bit token shared by all ranks (from the rendezvous); frames that
         *                     carry another token are rejected.
         */
        public Builder sessionToken(final long sessionToken)
        {
            this.sessionToken = sessionToken;
            this.sessionTokenSet = true;
            return this;
        }

        /**
         * @param termLength Aeron term length, a power of two in [64 KB, 1 GB]; default 16 MB (see
         *                   {@link #DEFAULT_TERM_LENGTH}). Each publication and each image maps 3 terms in the Aeron
         *                   directory (/dev/shm), allocated up front (not sparse) so a full /dev/shm fails at start.
         */
        public Builder termLength(final int termLength)
        {
            this.termLength = termLength;
            return this;
        }

        /**
         * @param mtu Aeron MTU (multiple of 32, at most 65504); default 8192; 65504 on loopback.
         */
        public Builder mtu(final int mtu)
        {
            this.mtu = mtu;
            return this;
        }

        /**
         * @param socketBufferBytes SO_SNDBUF / SO_RCVBUF; default 4 MB (the OS caps it at net.core.[rw]mem_max).
         */
        public Builder socketBufferBytes(final int socketBufferBytes)
        {
            this.socketBufferBytes = socketBufferBytes;
            return this;
        }

        /**
         * @param receiverWindowBytes Aeron receiver window, at most the socket buffer and term length / 2;
         *                            default min(4 MB, term length / 2); should exceed the bandwidth-delay product.
         */
        public Builder receiverWindowBytes(final int receiverWindowBytes)
        {
            this.receiverWindowBytes = receiverWindowBytes;
            return this;
        }

        /**
         * @param messageBytes bytes per message including the 48-byte header; 0 (default) = one Aeron frame
         *                     ({@code mtu - 32}, published with tryClaim). Larger values are capped at
         *                     min(term length / 8, 16 MB) and published with offer.
         */
        public Builder messageBytes(final int messageBytes)
        {
            this.messageBytes = messageBytes;
            return this;
        }

        /**
         * @param peerTimeoutNs how long a rank waits for a silent neighbour before failing; default 10 s.
         */
        public Builder peerTimeoutNs(final long peerTimeoutNs)
        {
            this.peerTimeoutNs = peerTimeoutNs;
            return this;
        }

        public Builder streamId(final int streamId)
        {
            this.streamId = streamId;
            return this;
        }

        public Builder maxBucketsInFlight(final int maxBucketsInFlight)
        {
            this.maxBucketsInFlight = maxBucketsInFlight;
            return this;
        }

        /**
         * @param idleStrategySupplier idle strategy of the communication and the waiting trainer thread; default
         *                             back-off (spin, yield, then park up to 100 us: fits 2 shared cores).
         */
        public Builder idleStrategy(final Supplier<IdleStrategy> idleStrategySupplier)
        {
            this.idleStrategySupplier = Objects.requireNonNull(idleStrategySupplier, "idleStrategySupplier");
            return this;
        }

        public RingConfig build()
        {
            if (null == endpoints || endpoints.isEmpty())
            {
                throw new IllegalArgumentException("endpoints: give every rank's \"host:port\", indexed by rank");
            }
            if (worldSize < 0)
            {
                worldSize = endpoints.size();
            }
            if (worldSize != endpoints.size())
            {
                throw new IllegalArgumentException(
                    "worldSize=" + worldSize + " but " + endpoints.size() + " endpoints were given: " + endpoints);
            }
            if (rank < 0 || rank >= worldSize)
            {
                throw new IllegalArgumentException("rank must be in [0, " + worldSize + "): " + rank);
            }
            for (int r = 0; r < worldSize; r++)
            {
                final String endpoint = endpoints.get(r);
                final int colon = null == endpoint ? -1 : endpoint.lastIndexOf(':');
                if (colon <= 0 || colon == endpoint.length() - 1)
                {
                    throw new IllegalArgumentException("endpoint of rank " + r + " must be \"host:port\": " + endpoint);
                }
                final int port;
                try
                {
                    port = Integer.parseInt(endpoint.substring(colon + 1));
                }
                catch (final NumberFormatException ex)
                {
                    throw new IllegalArgumentException("endpoint of rank " + r + " has no numeric port: " + endpoint);
                }
                if (port < 1 || port > 65535)
                {
                    throw new IllegalArgumentException("endpoint of rank " + r + " has port out of range: " + endpoint);
                }
                if (endpoints.indexOf(endpoint) != r)
                {
                    throw new IllegalArgumentException(
                        "ranks " + endpoints.indexOf(endpoint) + " and " + r + " share the endpoint " + endpoint +
                        ": every rank needs its own port");
                }
            }
            if (!sessionTokenSet)
            {
                throw new IllegalArgumentException(
                    "sessionToken: pass the run's random 64-bit token (the same on every rank)");
            }
            LogBufferDescriptor.checkTermLength(termLength);
            if (receiverWindowBytes < 0)
            {
                receiverWindowBytes = Math.min(DEFAULT_RECEIVER_WINDOW_BYTES, termLength / 2);
            }
            if (mtu <= DataHeaderFlyweight.HEADER_LENGTH + AllReduceFrame.HEADER_LENGTH + Float.BYTES ||
                mtu > MAX_MTU || (mtu & 31) != 0)
            {
                throw new IllegalArgumentException(
                    "mtu must be a multiple of 32 in [128, " + MAX_MTU + "]: " + mtu + " (8192 for jumbo frames, " +
                    "1408 for a 1500-byte Ethernet MTU, 65504 on loopback)");
            }
            if (receiverWindowBytes < mtu || receiverWindowBytes > termLength / 2)
            {
                throw new IllegalArgumentException("receiverWindowBytes must be in [mtu, termLength / 2] = [" + mtu +
                    ", " + termLength / 2 + "]: " + receiverWindowBytes);
            }
            if (socketBufferBytes < receiverWindowBytes)
            {
                throw new IllegalArgumentException("socketBufferBytes (" + socketBufferBytes +
                    ") must be at least receiverWindowBytes (" + receiverWindowBytes + ")");
            }
            if (messageBytes != 0 && messageBytes < AllReduceFrame.HEADER_LENGTH + Float.BYTES)
            {
                throw new IllegalArgumentException("messageBytes must be 0 (one frame) or at least " +
                    (AllReduceFrame.HEADER_LENGTH + Float.BYTES) + ": " + messageBytes);
            }
            if (peerTimeoutNs < TimeUnit.MILLISECONDS.toNanos(100))
            {
                throw new IllegalArgumentException("peerTimeoutNs must be at least 100 ms: " + peerTimeoutNs);
            }
            if (maxBucketsInFlight < 1)
            {
                throw new IllegalArgumentException("maxBucketsInFlight must be >= 1: " + maxBucketsInFlight);
            }
            return new RingConfig(this);
        }
    }
}
