#!/usr/bin/env bash
# Spark GPU discovery script (spark.{executor,worker,driver}.resource.gpu.discoveryScript).
# Prints one JSON object naming the GPUs this executor may use, as Spark's ResourceInformation
# expects: {"name": "gpu", "addresses": ["0", "1"]}. YARN and Kubernetes grant GPUs to a container
# but do not tell Spark their addresses; this script does, from what the container can see.
#
# Order of sources:
#   1. LOWRANK_GPU_ADDRESSES="0,1"  explicit list (tests, or a scheduler that exports it)
#   2. CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES set by the container runtime
#      (numeric lists only; "all" falls through to nvidia-smi)
#   3. nvidia-smi --query-gpu=index
# With no GPU found it exits 1 with a message on stderr: Spark then fails the executor's start
# with that message, instead of scheduling GPU tasks on a machine without GPUs.
set -euo pipefail

emit() {
  local list="$1" out="" a
  IFS=',' read -ra addrs <<<"$list"
  for a in "${addrs[@]}"; do
    a="${a// /}"
    [ -n "$a" ] || continue
    out+="${out:+,}\"$a\""
  done
  if [ -z "$out" ]; then return 1; fi
  printf '{"name": "gpu", "addresses": [%s]}\n' "$out"
}

if [ -n "${LOWRANK_GPU_ADDRESSES:-}" ]; then
  emit "$LOWRANK_GPU_ADDRESSES" && exit 0
fi
for var in CUDA_VISIBLE_DEVICES NVIDIA_VISIBLE_DEVICES; do
  val="${!var:-}"
  if [[ "$val" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
    emit "$val" && exit 0
  fi
done
if command -v nvidia-smi >/dev/null 2>&1; then
  list=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | tr -d ' ' | paste -sd, -)
  if [ -n "$list" ]; then emit "$list" && exit 0; fi
fi
echo "discover-gpus.sh: no GPU visible to this container (LOWRANK_GPU_ADDRESSES, CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES unset or not numeric; nvidia-smi missing or found none)" >&2
exit 1
