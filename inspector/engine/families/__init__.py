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

FastSAM-s/x are yolov8s/x-seg with one class ("object"); nothing in such a file marks it as
FastSAM (ultralytics picks its FastSAM class by the file name), so it identifies as
``yolov8-seg``. FastSAM's prompt step is ``engine/prompt.py`` and works on any family.

What differs after the network
------------------------------
* YOLO11-seg: nothing. Output (B, 4+nc+32, A) with xywh boxes, NMS (``postprocess.select``),
  masks from prototypes as for v8.
* YOLO26-seg has two branch sets. ``end2end=True`` runs ``one2one_*``: boxes decode to xyxy
  and ``topk.select_end_to_end`` replaces NMS (same signature and row layout as ``select``;
  masks unchanged). ``end2end=False`` runs the one-to-many set: v8's output and NMS.
  ultralytics 8.4.190 (the dev extra) predicts a ``.pt`` with the one-to-many head + NMS by
  default and with the one-to-one head only for ``nms=False``: its predictor passes
  ``end2end=(nms is False)`` to the backend, which sets the head's mode, so the pickled
  ``_end2end`` is ignored; the yaml's ``end2end: True`` only says the one-to-one set exists.
  A checkpoint fused by ultralytics holds only one branch set: ``one2one_cv2`` keys present
  and ``cv2`` keys absent means end-to-end (predict then runs it whatever ``nms`` says).
  The loader follows this (``checkpoint.head_end2end``); ``engine.end2end`` overrides it.

Where the families meet the loader and Engine
---------------------------------------------
* ``checkpoint.read_ultralytics``: ``family_of`` (``identify`` on the layer list; other tasks
  named and refused), ``CheckpointContent.arch`` / ``.end2end``; the v8 tables live only in
  ``registry``.
* ``loaders.build_module``: ``family.build(nc, scale, end2end)``; ``ModelInfo.arch`` /
  ``.end2end``; ``with_head_mode`` applies ``engine.end2end``. The inspector format stores
  ``arch`` and ``end2end`` (version 2; version 1 files are YOLOv8-seg).
* ``Engine.detections``: ``topk.select_end_to_end`` instead of ``postprocess.select`` when
  ``info.end2end`` (boxes are then xyxy, see ``network.py``).
* ``runner.make_forward``: the frozen CPU forward takes ``LayerGraphNetwork`` too.
* TorchScript exports of YOLO11/26: ``torchscript.py`` (family from config.txt's ``head``;
  an ``nms=False`` YOLO26 export's ready rows go through ``topk.select_end_to_end`` as
  one-hot pairs, which leaves only the conf/class/max_det filter).
"""
