"""A live RTSP camera for tests: gst-rtsp-server on 127.0.0.1, H.264 at a fixed frame rate.

Run with the system Python that has PyGObject (``/usr/bin/python3``), not the project's
virtualenv: ``python3 rtsp_server.py --fps 5``. It prints ``port <n>`` once it listens and
serves ``rtsp://127.0.0.1:<n>/cam`` until stdin closes or it gets SIGTERM.

Every frame carries the CLOCK_MONOTONIC time (ms) it was made, as a grid of black/white
blocks (``encode_stamp``/``decode_stamp`` in tests/sources/rtsp.py read the same layout):
the frame's "exposure" time, so a test can tell a frame made before an event from one after.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as exc:  # the test reads this line and names the package
    print(f"missing python3-gi gir1.2-gst-rtsp-server-1.0 ({exc})", flush=True)
    sys.exit(3)

# GStreamer element -> the Debian package that ships it
ELEMENTS = {
    "appsrc": "gstreamer1.0-plugins-base",
    "videoconvert": "gstreamer1.0-plugins-base",
    "x264enc": "gstreamer1.0-plugins-ugly",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "udpsrc": "gstreamer1.0-plugins-good",
}

WIDTH, HEIGHT, BLOCK, COLS, BITS = 320, 240, 40, 8, 48


def stamp_frame(ms: int) -> bytes:
    """A GRAY8 frame whose 8x6 blocks spell ``ms`` in binary, most significant bit first."""
    rows = []
    for y in range(HEIGHT):
        row = bytearray(WIDTH)
        r = y // BLOCK
        for c in range(COLS):
            bit = (ms >> (BITS - 1 - (r * COLS + c))) & 1
            row[c * BLOCK : (c + 1) * BLOCK] = (b"\xff" if bit else b"\x00") * BLOCK
        rows.append(bytes(row))
    return b"".join(rows)


class Camera:
    """Pushes a stamped frame every 1/fps s into whichever pipeline is serving clients."""

    def __init__(self, fps: int) -> None:
        self.fps = fps
        self.sources: list[Gst.Element] = []
        self.lock = threading.Lock()
        self.count = 0

    def configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("src")
        with self.lock:
            self.sources.append(src)

    def tick(self) -> bool:
        ms = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000_000
        data = stamp_frame(ms)
        duration = Gst.SECOND // self.fps
        with self.lock:
            for src in list(self.sources):
                buf = Gst.Buffer.new_wrapped(data)
                buf.duration = duration
                if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    self.sources.remove(src)  # that client's pipeline has gone
        self.count += 1
        return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=int, default=5)
    args = parser.parse_args()
    Gst.init(None)
    absent = sorted({pkg for name, pkg in ELEMENTS.items() if Gst.ElementFactory.find(name) is None})
    if absent:
        print(f"missing {' '.join(absent)}", flush=True)
        return 3
    camera = Camera(args.fps)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")  # any free port; printed below
    factory = GstRtspServer.RTSPMediaFactory()
    caps = f"video/x-raw,format=GRAY8,width={WIDTH},height={HEIGHT},framerate={args.fps}/1"
    factory.set_launch(
        f"( appsrc name=src is-live=true do-timestamp=true format=time caps={caps} "
        f"! videoconvert ! video/x-raw,format=I420 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.connect("media-configure", camera.configure)
    server.get_mount_points().add_factory("/cam", factory)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("error cannot listen", flush=True)
        return 1
    GLib.timeout_add(1000 // args.fps, camera.tick)
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    # the test closes our stdin to stop us (also when the test process dies)
    stdin = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(stdin, GLib.IO_IN | GLib.IO_HUP, lambda *_: loop.quit())
    print(f"port {server.get_bound_port()}", flush=True)
    loop.run()
    os._exit(0)  # GStreamer threads must not keep the process alive


if __name__ == "__main__":
    sys.exit(main())
