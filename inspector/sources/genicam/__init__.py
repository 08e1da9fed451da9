"""Industrial cameras (GigE Vision / USB3 Vision) through a GenICam driver: Basler pylon.

``config`` imports no driver; ``pylon`` is imported only when a source opens with it.
"""
