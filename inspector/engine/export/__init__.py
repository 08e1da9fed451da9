"""``inspector model export``: a model file written for another backend (ONNX, OpenVINO,
TensorRT), carrying its metadata and checked against the source model when it is written.

Each format is one module with an ``Exporter`` plus one line in ``registry.EXPORTERS``."""
