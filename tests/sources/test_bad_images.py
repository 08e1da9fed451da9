"""Bad images in a folder source: each one is a part, failed safe with the reason (909, never
PASS), and the folder goes on; grey, BGRA and 16-bit images are converted and inspected."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import FailSafeCause, VerdictCode
from inspector.sources import BadFrameError, SourceReader, SourceState, build_source
from inspector.sources.config import FolderSourceConfig
from tests.support.parts import BlobEngine, DefectRules, RecordingOutput, run_line

HEIGHT, WIDTH = 96, 128


def board(big: bool) -> np.ndarray:
    """An 8-bit BGR frame with one bright square (a 'defect' for DefectRules when big)."""
    image = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
    side = 30 if big else 8
    image[10 : 10 + side, 20 : 20 + side] = 255
    return image


def encoded(ext: str, image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def write_folder(folder: Path) -> dict[str, str | None]:
    """File name -> the words its fail-safe reason must hold (None: a good, inspectable image)."""
    folder.mkdir()
    jpeg = encoded(".jpg", board(big=True))
    grey = cv2.cvtColor(board(big=True), cv2.COLOR_BGR2GRAY)
    files: dict[str, tuple[bytes, str | None]] = {
        "a_good.png": (encoded(".png", board(big=False)), None),
        "b_empty.jpg": (b"", "empty"),
        "c_truncated_10.jpg": (jpeg[: len(jpeg) // 10], "decode"),
        "d_truncated_50.jpg": (jpeg[: len(jpeg) // 2], "decode"),
        "e_truncated_99.jpg": (jpeg[: len(jpeg) * 99 // 100], "decode"),
        "f_text.jpg": (b"this is not an image\n", "decode"),
        "g_grey16.png": (encoded(".png", grey.astype(np.uint16) * 257), None),
        "h_grey.png": (encoded(".png", grey), None),
        "i_rgba.png": (encoded(".png", cv2.cvtColor(board(big=True), cv2.COLOR_BGR2BGRA)), None),
        "j_1x1.png": (encoded(".png", np.zeros((1, 1, 3), np.uint8)), "1x1 px is smaller"),
        "k_8000x8000.png": (encoded(".png", np.zeros((8000, 8000), np.uint8)), "8000x8000 px is more than"),
        "l_good.jpg": (jpeg, None),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: why for name, (_, why) in files.items()}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    path = tmp_path_factory.mktemp("bad") / "images"
    return path, write_folder(path)


def test_the_reader_raises_each_bad_image_and_reads_on(folder: tuple[Path, dict[str, str | None]]) -> None:
    path, expected = folder
    reader = SourceReader(
        "cam0", build_source(FolderSourceConfig(kind="folder", path=path)), threading.Event()
    )
    reader.open()
    for name, why in expected.items():
        if why is None:
            frame = reader.grab(timeout=5.0)
            assert frame is not None and frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8, name
            # converted to the same picture, not rescaled or blank (JPEG: within its loss)
            difference = np.abs(frame.astype(np.int16) - board(big=name != "a_good.png")).mean()
            assert difference < 2.0, name
        else:
            with pytest.raises(BadFrameError) as caught:
                reader.grab(timeout=5.0)
            assert name in caught.value.reason and why in caught.value.reason
            assert caught.value.origin == str(path / name)
        assert reader.state is SourceState.CONNECTED  # a bad file is not a lost camera
    assert reader.grab(timeout=5.0) is None and reader.ended
    stats = reader.stats()
    assert stats.bad_frames == 7 and stats.frames == 5 and stats.read_failures == 0


def test_each_bad_image_is_a_failed_safe_part_never_a_pass(
    folder: tuple[Path, dict[str, str | None]],
) -> None:
    path, expected = folder
    runtime = {"poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}}
    config = InspectorConfig(sources=[{"kind": "folder", "id": "cam0", "path": str(path)}], runtime=runtime)
    out = RecordingOutput()
    assert run_line(App(build_line(config, LineParts(BlobEngine(), DefectRules(), [out]))))
    assert [m.seq for m in out.messages] == list(range(1, len(expected) + 1))  # one part per file, in order
    for msg, (name, why) in zip(out.messages, expected.items(), strict=True):
        assert msg.verdict is not None
        if why is None:  # inspected normally: the big square is a defect, the small one is not
            assert not msg.verdict.failsafe, name
            big = name != "a_good.png"
            assert msg.verdict.code is (VerdictCode.REJECT if big else VerdictCode.PASS), name
        else:
            assert msg.verdict.failsafe and msg.verdict.code is VerdictCode.REJECT, name
            assert msg.verdict.first_code == FailSafeCause.BAD_IMAGE
            assert name in msg.verdict.reasons[0].message and why in msg.verdict.reasons[0].message
