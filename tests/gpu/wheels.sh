#!/usr/bin/env bash
# Download, on a machine with a package registry, the wheels a GPU machine without one needs for
# tests/gpu/run.sh: what inspector and its test tools need beyond a CUDA image's own packages
# (torch, numpy, opencv, onnx, onnxruntime, pytest, ...), at the versions installed here.
#
#   tests/gpu/wheels.sh [DEST]     # DEST default .whl (keep it out of git: .git/info/exclude)
#
# TensorRT's own libraries are not on PyPI (its 'tensorrt' packages fetch them from NVIDIA's
# index at install time), so they cannot come this way: a GPU image that lacks TensorRT runs
# run.sh without it, which then skips the TensorRT steps, naming why.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEST=${1:-$ROOT/.whl}
PY=${PYTHON:-$ROOT/.venv/bin/python}
TARGET_PY=${TARGET_PYTHON_VERSION:-3.12}
NAMES='pymodbus|pyserial|pydantic|pydantic[-_]core|pydantic[-_]settings|python[-_]dotenv|typing[-_]inspection'
NAMES+='|annotated[-_]types|structlog|apscheduler|tzlocal|pymodbustcp|ultralytics|hypothesis|pytest[-_]timeout'
mapfile -t PINS < <("$PY" -m pip freeze | grep -iE "^($NAMES)==")
mkdir -p "$DEST"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$TARGET_PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$DEST" "${PINS[@]}"
du -sh "$DEST"
