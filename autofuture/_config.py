"""Every ``AUTOFUTURE_*`` environment variable is read here, and only here."""

from __future__ import annotations

import os


def env_flag(name: str) -> bool:
    """True when ``AUTOFUTURE_<name>`` is set to anything but '', '0', 'false', 'no'."""
    value = os.environ.get(f"AUTOFUTURE_{name}", "")
    return value.strip().lower() not in ("", "0", "false", "no", "off")


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"AUTOFUTURE_{name}", default)


def debug() -> bool:
    """``AUTOFUTURE_DEBUG=1``: show rewritten sources and autofuture's own frames."""
    return env_flag("DEBUG")
