"""Segmentation families beyond YOLOv8-seg — YOLO11-seg and YOLO26-seg — in plain torch.

Modules: ``blocks`` (C3k2, C3k, C2PSA, PSABlock, Attention, residual SPPF, Proto26), ``heads``
(Segment11, Segment26), ``network`` (the 24-layer graph both yamls share), ``yolo11_seg`` /
``yolo26_seg`` (one file per family), ``topk`` (end-to-end selection), ``registry`` (which
family a checkpoint holds). Parameter names and counts equal ultralytics' for n/s/m/l/x, so
an ultralytics state dict loads with ``strict=True``; BatchNorm ``eps`` (1e-3 in ultralytics)
is outside the state dict and is set by name, as for v8.

How a checkpoint names its family
---------------------------------
The class names of ``ckpt["ema" or "model"]._modules["model"]._modules`` in order
(``checkpoint.layer_types``): ``registry.identify(types)`` returns the ``Family`` or None.
v8 ends ``… C2f Segment`` (23 layers); YOLO11 has C3k2 blocks, ``SPPF C2PSA`` and ends
``Segment`` (24 layers, head index 23); YOLO26 has the same list ending ``Segment26``. The
model object must still be a ``SegmentationModel`` (detection/pose/OBB/classify checkpoints
are ``DetectionModel``/``PoseModel``/…, ``-sem`` ends in ``SemanticSegment``). Scale comes from
the weights (``family.scale_of``: stem width; YOLO11/26 m and l share width 64 and differ in
depth), classes from ``family.classes_of``. The builder is ``family.build(nc, scale, end2end)``.

What differs after the network
------------------------------
* YOLO11-seg: nothing. Output (B, 4+nc+32, A) with xywh boxes, NMS (``postprocess.select``),
  masks from prototypes as for v8.
* YOLO26-seg has two branch sets. ``end2end=True`` runs ``one2one_*``: boxes decode to xyxy
  and ``topk.select_end_to_end`` replaces NMS (same signature and row layout as ``select``;
  masks unchanged). ``end2end=False`` runs the one-to-many set: v8's output and NMS.
  ultralytics 8.4.190 (the dev extra) predicts with the one-to-many head + NMS by default
  (``nms=None`` keeps the head's pickled ``_end2end``, unset or False in trained files) and
  with the one-to-one head only for ``nms=False``; the yaml's ``end2end: True`` only says the
  one-to-one set exists. Engine integration should take the mode from the head's
  ``_end2end`` (default False, as ultralytics) with a config override for NMS-free inference.
  A checkpoint fused by ultralytics holds only one branch set: ``one2one_cv2`` keys present
  and ``cv2`` keys absent means end-to-end.

What the integration into loaders/checkpoint/Engine needs
---------------------------------------------------------
* ``checkpoint.read_ultralytics``: replace the ``YOLOV8_SEG_LAYERS`` equality with
  ``identify``; ``CheckpointContent`` gains ``arch`` and ``end2end``; import the v8 tables
  from ``registry`` (they are duplicated there, pinned equal by a test, to avoid a cycle).
* ``loaders.build_module``: ``family.build(nc, scale, end2end)`` instead of
  ``SegmentationModel``; ``ModelInfo.arch = family.arch`` and a new ``ModelInfo.end2end``;
  the error text names the arch.
* own format (``model convert``): store ``arch`` and ``end2end`` and rebuild from them.
* ``Engine.detections``: ``topk.select_end_to_end`` instead of ``postprocess.select`` when
  ``self.info.end2end`` (the ``Network`` seam hands Engine only the info and the outputs;
  ``network.py``'s docstring should then say boxes are xyxy for such networks).
* ``runner.make_forward``: the frozen CPU forward is gated on ``isinstance(module,
  SegmentationModel)``; accept ``network.LayerGraphNetwork`` too (its traced ``raw`` serves
  other input sizes, tested) and widen ``RawNetwork``/``frozen_cpu_forward``'s type hints.
* TorchScript exports: YOLO26 exported with ``nms=False`` returns (B, 300, 6+32) rows
  (xyxy, score, class, coefficients) that need only the conf/class filter.
"""
