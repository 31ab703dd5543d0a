package io.lowrank.worker.comm;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * The header in front of every all-reduce message on the ring (little-endian), followed by {@code elementCount}
 * floats in native byte order (all ranks of a ring must share the byte order; x86-64 and AArch64 do).
 *
 * <pre>
 *   0  int64  sessionToken    per-run token from the rendezvous; frames with another token are rejected, never summed
 *   8  int64  bucketSequence  0, 1, 2, ... per all-reduce instance
 *  16  int32  version         {@link #VERSION}
 *  20  int32  senderRank
 *  24  int32  step            ring step, 0 .. 2(p-1)-1 (see {@link RingSchedule})
 *  28  int32  chunkIndex
 *  32  int32  elementOffset   first element of the payload, relative to the bucket
 *  36  int32  elementCount
 *  40  int32  bucketLength    elements in the whole bucket (both sides must agree)
 *  44  int32  messageIndex    index of this message within its chunk
 *  48  float[elementCount]
 * </pre>
 */
final class AllReduceFrame
{
    static final int VERSION = 1;
    static final int SESSION_TOKEN_OFFSET = 0;
    static final int BUCKET_SEQUENCE_OFFSET = 8;
    static final int VERSION_OFFSET = 16;
    static final int SENDER_RANK_OFFSET = 20;
    static final int STEP_OFFSET = 24;
    static final int CHUNK_INDEX_OFFSET = 28;
    static final int ELEMENT_OFFSET_OFFSET = 32;
    static final int ELEMENT_COUNT_OFFSET = 36;
    static final int BUCKET_LENGTH_OFFSET = 40;
    static final int MESSAGE_INDEX_OFFSET = 44;
    static final int HEADER_LENGTH = 48;

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private AllReduceFrame()
    {
    }

    static void encodeHeader(
        final MutableDirectBuffer buffer,
        final int offset,
        final long sessionToken,
        final long bucketSequence,
        final int senderRank,
        final int step,
        final int chunkIndex,
        final int elementOffset,
        final int elementCount,
        final int bucketLength,
        final int messageIndex)
    {
        buffer.putLong(offset + SESSION_TOKEN_OFFSET, sessionToken, ORDER);
        buffer.putLong(offset + BUCKET_SEQUENCE_OFFSET, bucketSequence, ORDER);
        buffer.putInt(offset + VERSION_OFFSET, VERSION, ORDER);
        buffer.putInt(offset + SENDER_RANK_OFFSET, senderRank, ORDER);
        buffer.putInt(offset + STEP_OFFSET, step, ORDER);
        buffer.putInt(offset + CHUNK_INDEX_OFFSET, chunkIndex, ORDER);
        buffer.putInt(offset + ELEMENT_OFFSET_OFFSET, elementOffset, ORDER);
        buffer.putInt(offset + ELEMENT_COUNT_OFFSET, elementCount, ORDER);
        buffer.putInt(offset + BUCKET_LENGTH_OFFSET, bucketLength, ORDER);
        buffer.putInt(offset + MESSAGE_INDEX_OFFSET, messageIndex, ORDER);
    }

    static long sessionToken(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SESSION_TOKEN_OFFSET, ORDER);
    }

    static long bucketSequence(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BUCKET_SEQUENCE_OFFSET, ORDER);
    }

    static int version(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + VERSION_OFFSET, ORDER);
    }

    static int senderRank(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + SENDER_RANK_OFFSET, ORDER);
    }

    static int step(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + STEP_OFFSET, ORDER);
    }

    static int chunkIndex(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + CHUNK_INDEX_OFFSET, ORDER);
    }

    static int elementOffset(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + ELEMENT_OFFSET_OFFSET, ORDER);
    }

    static int elementCount(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + ELEMENT_COUNT_OFFSET, ORDER);
    }

    static int bucketLength(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BUCKET_LENGTH_OFFSET, ORDER);
    }

    static int messageIndex(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + MESSAGE_INDEX_OFFSET, ORDER);
    }
}
