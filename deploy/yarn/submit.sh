#!/usr/bin/env bash
# Submit lowrank train to YARN (untested here: no YARN cluster). Usage:
#   deploy/yarn/submit.sh hdfs:///runs/r1 hdfs:///data/prepared-<hash> [extra train options]
# Four executors, one worker each; driver in the cluster, so a lost client does not stop the run
# (and `train --resume` continues a run whose driver died).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="$1"; DATA="$2"; shift 2
exec "${SPARK_HOME:?set SPARK_HOME to a Spark 4.2 installation}/bin/spark-submit" \
  --master yarn --deploy-mode cluster \
  --properties-file "$ROOT/conf/spark-defaults.conf" \
  --num-executors 4 --executor-cores 8 --conf spark.task.cpus=8 \
  --conf spark.executor.memoryOverhead=16g \
  --conf spark.yarn.maxAppAttempts=2 \
  --class io.lowrank.spark.SparkMain \
  "$ROOT"/spark-driver/target/lowrank-spark-app-*.jar \
  train --preset 60m --layer cola --workers 4 --data "$DATA" --run-dir "$RUN_DIR" "$@"
# GPUs (for the GPU backend, not built yet):
#   --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1 \
#   --conf spark.executor.resource.gpu.discoveryScript=$SPARK_HOME/examples/src/main/scripts/getGpusResources.sh
