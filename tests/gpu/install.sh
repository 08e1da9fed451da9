#!/usr/bin/env bash
# Make a Python environment for tests/gpu/run.sh and print its interpreter's path (last line).
#
# A venv that sees python3's own packages, so a GPU image's CUDA torch (and TensorRT, where the
# image has it) is used as it is. Then inspector, editable:
#   * with a folder of wheels (INSPECTOR_WHEELS, default .whl; tests/gpu/wheels.sh makes it on a
#     machine with a package registry): installed from it alone, no registry, no dependency
#     resolution — for GPU machines that reach no registry;
#   * else from the registry: '.[dev,tensorrt]', and '.[dev]' when the tensorrt extra cannot be
#     installed (its libraries are not on PyPI for every platform); run.sh then says TensorRT is
#     missing and skips what needs it.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${INSPECTOR_GPU_VENV:-/tmp/inspector-gpu-venv}
WHEELS=${INSPECTOR_WHEELS:-$ROOT/.whl}

python3 -m venv --system-site-packages "$VENV" >&2 || exit 1
PY=$VENV/bin/python
# --system-site-packages reaches the base interpreter's packages only; where python3 is itself a
# venv (a GPU image's /opt/.../.venv holding torch), its site-packages are added by a .pth file,
# after the new venv's own (what is installed here wins).
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
python3 -c 'import site; print("\n".join(site.getsitepackages()))' > "$SITE/gpu-image-packages.pth"
PIP=("$PY" -m pip install -q --disable-pip-version-check)
if compgen -G "$WHEELS/*.whl" > /dev/null; then
    echo "install: wheels from $WHEELS, no registry" >&2
    "${PIP[@]}" --no-index --no-deps "$WHEELS"/*.whl >&2 || exit 1
    # inspector itself: editable where the build tools are at hand, else run.sh's PYTHONPATH serves
    "${PIP[@]}" --no-index --no-deps --no-build-isolation -e "$ROOT" >&2 \
        || echo "install: inspector not installed; it runs from the source tree (PYTHONPATH)" >&2
elif "${PIP[@]}" --retries 1 --timeout 20 -e "$ROOT[dev,tensorrt]" >&2; then
    echo "install: .[dev,tensorrt] from the registry" >&2
else
    echo "install: the tensorrt extra did not install; installing .[dev] without it" >&2
    "${PIP[@]}" --retries 1 --timeout 20 -e "$ROOT[dev]" >&2 || exit 1
fi
echo "$PY"
