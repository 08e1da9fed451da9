"""The backends that run the network forward: torch (``engine/runner.py``), ONNX Runtime,
OpenVINO and TensorRT. Each is one module with an ``open_*`` function ``(model file, engine
config, device) -> Network`` plus one line in ``registry.BACKENDS``; letterbox, NMS/top-k and
mask assembly stay in ``Engine`` and are the same on every backend."""
