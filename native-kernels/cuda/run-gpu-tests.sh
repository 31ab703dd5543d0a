#!/usr/bin/env bash
# The CUDA kernels' checks, for the GPU machine (CUDA 13, nvcc, CMake, compute-sanitizer, python3
# with pip's nvidia-* wheels; no Java needed). Builds the library and the check executables for
# this GPU, static_asserts the hand-written cuBLASLt declarations against the real headers, runs
# the host tests, every kernel check (odd sizes, fresh random inputs, bounds per check) and each
# check again under compute-sanitizer memcheck. Prints one JSON line per check (the executables'
# own lines) plus one per step, and a summary line; exits non-zero on any failure.
#
#   bash native-kernels/cuda/run-gpu-tests.sh [--bench] [build dir]
#
# --bench also runs each check's benchmark (medians of CUDA-event timings, L2 flushed).
# LR_SEED=<n> reproduces a run's random inputs (each line prints its seed).
set -u
BENCH=0
if [ "${1:-}" = "--bench" ]; then BENCH=1; shift; fi
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${TMPDIR:-/tmp}/lowrank-cuda-gpu-build}
FAILS=0
PASSES=0
step() {  # name rc detail
  local ok=true
  if [ "$2" != 0 ]; then ok=false; FAILS=$((FAILS + 1)); else PASSES=$((PASSES + 1)); fi
  printf '{"step":"%s","rc":%s,"ok":%s,"detail":"%s"}\n' "$1" "$2" "$ok" "$(printf '%s' "$3" | tr '"\n' "' " | cut -c1-400)"
}

NVCC=""
for c in "${LOWRANK_NVCC:-}" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda-13.0/bin/nvcc /usr/local/cuda/bin/nvcc \
         "$(command -v nvcc 2>/dev/null || true)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then NVCC=$c; break; fi
done
[ -n "$NVCC" ] || { step nvcc 1 "nvcc not found (CUDA_HOME, /usr/local/cuda-13.0, /usr/local/cuda, PATH)"; exit 1; }
CUDA_ROOT=$(dirname "$(dirname "$NVCC")")
CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
[ -n "$CC" ] || { step nvidia-smi 1 "no GPU visible to nvidia-smi"; exit 1; }
ARCH=$CC
[ "$CC" = 90 ] && ARCH=90a
GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
step gpu 0 "$GPU, compute capability $CC, nvcc $NVCC"

# cuBLASLt from pip's wheels (nvidia/cu13 or nvidia/cublas) or the CUDA install
SITE=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null || true)
INC=""
for d in "$SITE/nvidia/cu13/include" "$SITE/nvidia/cublas/include" "$CUDA_ROOT/include"; do
  if [ -f "$d/cublasLt.h" ]; then INC=$d; break; fi
done
if [ -n "$INC" ]; then
  out=$(g++ -std=c++17 -fsyntax-only -Wall -Werror -I"$INC" -I"$CUDA_ROOT/include" "$HERE/cublaslt/check_decls.cpp" 2>&1)
  step check_decls $? "hand-written cuBLASLt declarations vs $INC/cublasLt.h: $out"
else
  step check_decls 1 "cublasLt.h not found under $SITE/nvidia/{cu13,cublas}/include or $CUDA_ROOT/include"
fi

GEN=""
command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
out=$(cmake -S "$HERE" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DLOWRANK_NVCC="$NVCC" -DLOWRANK_CUDA_JNI=OFF \
        -DLOWRANK_CHECK_ARCHS="-gencode=arch=compute_$ARCH,code=sm_$ARCH" 2>&1 && cmake --build "$BUILD" -j "$(nproc)" 2>&1)
rc=$?
step build $rc "$(printf '%s' "$out" | grep -iE 'error|warning' | head -5)"
[ $rc = 0 ] || { printf '{"summary":true,"passed":%d,"failed":%d}\n' "$PASSES" "$FAILS"; exit 1; }

out=$(cd "$BUILD" && ctest --output-on-failure 2>&1)
step host_tests $? "$(printf '%s' "$out" | grep -E 'tests passed|Failed' | head -5)"

CHECKS="elementwise silu swiglu relu2 rmsnorm rope attention classifier encoder adamw global_norm sparse24 matmul"
for k in $CHECKS; do
  "$BUILD/${k}_check"
  step "check_$k" $? "$BUILD/${k}_check"
done
if command -v compute-sanitizer >/dev/null 2>&1 || [ -x "$CUDA_ROOT/bin/compute-sanitizer" ]; then
  SAN=$(command -v compute-sanitizer || echo "$CUDA_ROOT/bin/compute-sanitizer")
  for k in $CHECKS; do
    out=$("$SAN" --tool memcheck --error-exitcode 99 "$BUILD/${k}_check" 2>&1)
    step "memcheck_$k" $? "$(printf '%s' "$out" | grep -E 'ERROR SUMMARY|error' | head -3)"
  done
else
  step compute-sanitizer 1 "compute-sanitizer not found"
fi
if [ $BENCH = 1 ]; then
  for k in $CHECKS; do
    "$BUILD/${k}_check" bench | grep '"bench":true'
  done
fi
printf '{"summary":true,"passed":%d,"failed":%d}\n' "$PASSES" "$FAILS"
[ $FAILS = 0 ]
