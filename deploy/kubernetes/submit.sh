#!/usr/bin/env bash
# Submit lowrank train to Kubernetes (untested here: no cluster). Usage:
#   deploy/kubernetes/submit.sh k8s://https://API:6443 IMAGE s3a://bucket/runs/r1 s3a://bucket/data/prepared-<hash> [extra]
# IMAGE: a Spark 4.2 image with the application jar at /opt/lowrank/lowrank-spark-app.jar and
# hadoop-aws on the classpath for s3a://.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MASTER="$1"; IMAGE="$2"; RUN_DIR="$3"; DATA="$4"; shift 4
exec "${SPARK_HOME:?set SPARK_HOME to a Spark 4.2 installation}/bin/spark-submit" \
  --master "$MASTER" --deploy-mode cluster \
  --properties-file "$ROOT/conf/spark-defaults.conf" \
  --conf spark.kubernetes.container.image="$IMAGE" \
  --conf spark.kubernetes.executor.podTemplateFile="$ROOT/deploy/kubernetes/executor-pod-template.yaml" \
  --conf spark.kubernetes.scheduler.name=volcano \
  --conf spark.executor.instances=4 --conf spark.executor.cores=8 --conf spark.task.cpus=8 \
  --class io.lowrank.spark.SparkMain \
  local:///opt/lowrank/lowrank-spark-app.jar \
  train --preset 60m --layer cola --workers 4 --data "$DATA" --run-dir "$RUN_DIR" "$@"
