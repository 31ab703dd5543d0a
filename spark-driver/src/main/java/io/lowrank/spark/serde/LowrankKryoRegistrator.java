package io.lowrank.spark.serde;

import com.esotericsoftware.kryo.Kryo;
import io.lowrank.spark.train.ChunkReport;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Every class the application ships between driver and executors through Spark's serializer
 * (shuffle blocks, task results). The run sets {@code spark.kryo.registrationRequired=true}, so a
 * class missing here fails loudly instead of being written with its full name on every record.
 * Closures (ChunkSpec, the task function) always use Java serialisation in Spark and carry only
 * strings and numbers; tensors never travel through Spark at all.
 */
public final class LowrankKryoRegistrator implements KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        io.lowrank.spark.prepare.PrepareKryo.register(kryo);  // train --corpus runs the prepare job in the same application
        kryo.register(ChunkReport.class);
        kryo.register(ChunkReport[].class);
        kryo.register(double[].class);
        kryo.register(boolean[].class);  // ChunkReport.skipped
        kryo.register(float[].class);  // bench --suite allreduce: the treeAggregate comparison
        kryo.register(scala.Tuple2.class);
        kryo.register(scala.Tuple2[].class);
    }
}
