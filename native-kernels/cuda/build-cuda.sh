#!/usr/bin/env bash
# Builds native-kernels/cuda: the host tests of the kernels' __host__ __device__ math (always,
# with the C++ compiler; run by ctest unless skipTests) and, when nvcc is found, the CUDA library
# liblowrank_cuda.so (sm_80, sm_90a, compute_90 PTX; warnings are errors) and the GPU check
# executables (compiled only: there is no GPU in CI). Called by build-native.sh (Maven,
# process-classes); usable by hand:
#
#   native-kernels/cuda/build-cuda.sh <cuda dir> <build dir> [classes dir] [skipTests] [java.home]
#
# nvcc is looked up in $LOWRANK_NVCC, $CUDA_HOME/bin, /usr/local/cuda-13.0/bin, /usr/local/cuda/bin,
# then PATH (LOWRANK_NVCC=off: do not look). Without it: ONE warning line, and only the host tests
# are built.
set -eu
SRC=${1:?cuda dir}
BUILD=${2:?build dir}
CLASSES=${3:-}
SKIPTESTS=${4:-false}
JHOME=${5:-${JAVA_HOME:-}}
JOBS=${LOWRANK_NATIVE_JOBS:-2}
if [ -z "$JHOME" ] && command -v javac >/dev/null 2>&1; then
  JHOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
fi

NVCC=""
[ "${LOWRANK_NVCC:-}" = "off" ] || for c in "${LOWRANK_NVCC:-}" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda-13.0/bin/nvcc /usr/local/cuda/bin/nvcc \
         "$(command -v nvcc 2>/dev/null || true)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then NVCC=$c; break; fi
done
if [ -z "$NVCC" ]; then
  echo "[WARNING] lowrank-cuda: nvcc not found (LOWRANK_NVCC, CUDA_HOME/bin, /usr/local/cuda-13.0/bin, /usr/local/cuda/bin, PATH); CUDA sources not compiled, host tests only" >&2
fi

mkdir -p "$BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLOWRANK_NVCC="$NVCC" \
      ${JHOME:+-DLOWRANK_JAVA_HOME="$JHOME"} ${LOWRANK_CHECK_ARCHS:+-DLOWRANK_CHECK_ARCHS="$LOWRANK_CHECK_ARCHS"} \
      >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
grep -E "WARNING|jni.h" "$BUILD.configure.log" || true
cmake --build "$BUILD" -j "$JOBS"
if [ "$SKIPTESTS" != "true" ]; then
  (cd "$BUILD" && ctest --output-on-failure)
fi
if [ -n "$NVCC" ] && [ -n "$CLASSES" ]; then
  mkdir -p "$CLASSES/native/linux-x86_64"
  cp "$BUILD/liblowrank_cuda.so" "$CLASSES/native/linux-x86_64/liblowrank_cuda.so"
  echo "lowrank-cuda: packaged $CLASSES/native/linux-x86_64/liblowrank_cuda.so (compiled with $NVCC; not yet run on a GPU)"
fi
