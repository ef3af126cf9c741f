#!/usr/bin/env bash
# Create the peer tuners' venvs: benchmarks/.venv-optuna-gp (Optuna 5 GPSampler + torch CPU)
# and benchmarks/.venv-vizier (OSS Vizier's default designer on JAX).  Each peer lives in a
# venv of its own because its pins clash with hpdash's (and with each other's); hpdash never
# imports them.  Idempotent: a venv that finished installing (its .installed marker) is kept.
#
#   bash benchmarks/peers/setup.sh [optuna-gp] [vizier]     # default: both
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(optuna-gp vizier)

for peer in "${peers[@]}"; do
  venv="$BENCH/.venv-$peer"
  if [ -f "$venv/.installed" ]; then
    echo "$peer: $venv is ready"
    continue
  fi
  echo "$peer: creating $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  if [ "$peer" = optuna-gp ]; then
    # A CPU-only wheel (200 MB) when one is on pip's find-links or index; PyPI's own Linux
    # wheels bundle CUDA.
    "$venv/bin/python" -m pip install -q "torch==2.13.0+cpu" 2>/dev/null \
      || "$venv/bin/python" -m pip install -q torch
  fi
  "$venv/bin/python" -m pip install -q -r "$HERE/requirements-$peer.txt"
  "$venv/bin/python" "$HERE/peer.py" --check "$peer"
  touch "$venv/.installed"
done
