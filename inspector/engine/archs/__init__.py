"""Segmentation architectures beyond the ultralytics families (Mask R-CNN, SegFormer, DETR
panoptic): each recognised from its exported file's content, run on ONNX Runtime or OpenVINO
with numpy/OpenCV post-processing, and ending in the engine contract (``Detections``).

``registry.ARCHS`` lists them; ``registry.recognise(path)`` names a file's arch (None for a
YOLO export, which ``Engine`` runs); ``registry.open_arch_engine`` builds its engine.
"""
