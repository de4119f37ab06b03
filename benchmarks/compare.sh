#!/usr/bin/env bash
# Side by side with PyTorch and ONNX Runtime (and TorchSharp with --torchsharp): installs Debian's PyTorch and OpenBLAS
# if missing, then runs compare.py.
# compare.py picks OpenBLAS's core type itself (the CPU's flags or OpenBLAS's detection, whichever is faster here) and
# leaves OPENBLAS_L2_SIZE to OpenBLAS; nothing is changed outside this command.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread
fi
dotnet build benchmarks -c Release -v quiet -nologo
if [ "${1:-}" = "--torchsharp" ]; then dotnet build benchmarks/torchsharp -c Release -v quiet -nologo; fi
/usr/bin/python3 benchmarks/compare.py "$@"
