"""Segmentation families beyond YOLOv8-seg (YOLO11-seg, YOLO26-seg), in plain torch."""
