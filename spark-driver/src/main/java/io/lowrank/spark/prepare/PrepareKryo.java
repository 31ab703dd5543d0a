package io.lowrank.spark.prepare;

import com.esotericsoftware.kryo.Kryo;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers every class the prepare job ships through Spark's serializer (parallelized splits,
 * cached token blocks, shuffled pieces, task results), so it runs with
 * {@code spark.kryo.registrationRequired=true}. {@link PrepareCommand} appends this registrator
 * to {@code spark.kryo.registrator}; an application-wide registrator can call {@link #register}.
 */
public final class PrepareKryo implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        register(kryo);
    }

    public static void register(Kryo kryo) {
        kryo.register(InputSplit.class);
        kryo.register(InputSplit[].class);
        kryo.register(SplitStats.class);
        kryo.register(SplitStats[].class);
        kryo.register(TokenBlock.class);
        kryo.register(TokenBlock[].class);
        kryo.register(Piece.class);
        kryo.register(ShardResult.class);
        kryo.register(ShardResult[].class);
        kryo.register(int[].class);
        kryo.register(long[].class);
        kryo.register(String[].class);
        kryo.register(Object[].class);
        kryo.register(Integer.class);
    }
}
