#!/usr/bin/env bash
# check_export.sh MODEL_DIR TOKENS.npy SEQ_LEN [WORK_DIR]
#
# Exports MODEL_DIR (a checkpoint or run directory) in f32 with `bin/lowrank export` and checks that
# the exported directory gives `bin/lowrank eval`'s loss, relative difference <= 1e-5:
#   1. under the project's plain-PyTorch reference (llama_ref.py eval; full-rank, CoLA and CR-Net), and
#   2. where transformers is installed, under LlamaForCausalLM.from_pretrained (transformers_loss.py;
#      full-rank only).
# Exit 0: all checks that could run passed; 1: a loss differs; 77: torch is not installed (nothing checked).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODEL="$1" TOKENS="$2" SEQ="$3" WORK="${4:-$(mktemp -d)}"
PY="${PY:-/usr/bin/python3}"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "check_export: $PY has no torch (Debian: apt-get install python3-torch); nothing checked" >&2
  exit 77
fi
OUT="$WORK/export-f32"
"$ROOT/bin/lowrank" export --model "$MODEL" --out "$OUT" --dtype f32 | tail -1
OURS=$("$ROOT/bin/lowrank" eval --model "$OUT" --tokens "$TOKENS" --seq-len "$SEQ" | tail -1)
echo "lowrank eval:  $OURS"
compare() {   # name json
  "$PY" - "$OURS" "$2" "$1" <<'PY'
import json, sys
ours, theirs, name = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
rel = abs(ours["loss"] - theirs["loss"]) / abs(ours["loss"])
ok = rel <= 1e-5 and ours["tokens"] == theirs["tokens"]
print(f"{name}: loss {theirs['loss']:.8f} vs {ours['loss']:.8f}, rel {rel:.2e} -> {'OK' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
}
REF=$("$PY" "$HERE/llama_ref.py" eval --model "$OUT" --tokens "$TOKENS" --seq-len "$SEQ" | tail -1)
compare "llama_ref.py" "$REF"
TYPE=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_type"])' "$OUT/config.json")
if [ "$TYPE" = llama ] && "$PY" -c 'import transformers' 2>/dev/null; then
  HF=$("$PY" "$HERE/transformers_loss.py" --model "$OUT" --tokens "$TOKENS" --seq-len "$SEQ" | tail -1)
  compare "transformers LlamaForCausalLM" "$HF"
else
  echo "transformers check skipped (model_type $TYPE, or transformers not installed)"
fi
