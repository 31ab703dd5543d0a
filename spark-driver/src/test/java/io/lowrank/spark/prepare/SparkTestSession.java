package io.lowrank.spark.prepare;

import org.apache.spark.sql.SparkSession;

/**
 * One local[2] session shared by the test classes (starting Spark costs seconds), configured as
 * the CLI configures it (Kryo with registration required). Recreated when a test (the CLI) stopped it.
 */
final class SparkTestSession {
    private static SparkSession session;

    private SparkTestSession() {
    }

    static synchronized SparkSession get() {
        if (session == null || session.sparkContext().isStopped()) {
            session = PrepareCommand.session("local[2]");
            session.sparkContext().setLogLevel("WARN");
        }
        return session;
    }

    static synchronized void stop() {
        if (session != null) {
            session.stop();
            session = null;
        }
    }
}
