"""A serial line checked at start, before pymodbus gets it.

Without these checks a wrong ``plc.serial`` looks like a PLC that never answers: the
link stays down with nothing but reconnect attempts. A trial open also keeps refused
line settings away from pymodbus, which leaves the half-opened port to the garbage
collector when the driver refuses them.
"""

from __future__ import annotations

import os
import stat
import termios

from inspector.plc.config import SerialConfig


def settings_text(line: SerialConfig) -> str:
    return f"{line.baudrate} baud, {line.bytesize}{line.parity}{line.stopbits}"


def _is_device_path(port: str) -> bool:
    # pyserial URLs (socket://, rfc2217://, ...) and non-POSIX names (COM3) are pyserial's to judge.
    return "://" not in port and port.startswith("/")


def serial_port_problem(port: str) -> str | None:
    """Why ``port`` cannot be a serial device, or None when it may be one."""
    if not _is_device_path(port):
        return None
    try:
        mode = os.stat(port).st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be examined: {exc.strerror}"
    if not stat.S_ISCHR(mode):
        return "is not a serial device (not a character device)"
    if not os.access(port, os.R_OK | os.W_OK):
        return "is not readable and writable by this user (serial group, e.g. dialout?)"
    return None


def serial_line_problem(line: SerialConfig) -> str | None:
    """Why the line cannot be used as configured, or None; opens and closes the port once."""
    problem = serial_port_problem(line.port)
    if problem is not None or not _is_device_path(line.port):
        return problem
    try:
        import serial
    except ImportError:
        return "needs the pyserial package (install pymodbus[serial])"
    refused = f"refused the line settings ({settings_text(line)}): "
    try:
        port = serial.Serial(
            line.port,
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            timeout=1.0,
            exclusive=True,
        )
    except serial.SerialException as exc:  # busy (another program holds it), vanished, ...
        return f"cannot be opened: {exc}"
    except (termios.error, ValueError) as exc:
        return refused + str(exc)
    try:
        port.timeout = 0  # what pymodbus sets right after opening; some drivers refuse only then
    except (termios.error, ValueError, serial.SerialException) as exc:
        return refused + str(exc)
    finally:
        port.close()
    return None
