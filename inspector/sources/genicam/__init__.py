"""Industrial cameras (GigE Vision / USB3 Vision) through a GenICam driver: Basler pylon or Aravis.

``config`` imports no driver; ``pylon`` and ``aravis`` are imported only when a source opens with one.
"""
