"""Chinese text in images: finding a CJK font matplotlib can draw with.

Without one, Chinese labels come out as empty boxes; :func:`cjk_font` finds an
installed one (Debian package ``fonts-noto-cjk``) or raises
:class:`~gridgeo.errors.ConfigError` saying what to install.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from gridgeo.errors import ConfigError

__all__ = ["CJK_FAMILIES", "CJK_FILES", "cjk_font", "rc_params"]

#: Font families tried in order; the first one matplotlib knows is used.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
)
#: Font files registered with matplotlib when none of :data:`CJK_FAMILIES` is known.
CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The font family matplotlib uses for Chinese text (found once per process).

    ``GRIDGEO_CJK_FONT`` (:attr:`gridgeo.settings.Settings.cjk_font`) may name a font
    file to use instead.

    Raises
    ------
    ConfigError
        No CJK font is installed: Chinese labels would be drawn as empty boxes.
    """
    from matplotlib import font_manager

    from gridgeo.settings import get_settings

    extra = get_settings().cjk_font
    candidates = [extra] if extra else []
    candidates += [f for f in CJK_FILES if Path(f).is_file()]
    known = {f.name for f in font_manager.fontManager.ttflist}
    if not extra:
        for family in CJK_FAMILIES:
            if family in known:
                return family
    for path in candidates:
        if not Path(path).is_file():
            raise ConfigError(f"GRIDGEO_CJK_FONT={path}: no such font file")
        font_manager.fontManager.addfont(path)
        names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
        best = next((n for n in CJK_FAMILIES if n in names), names[0] if names else None)
        if best:
            return best
    raise ConfigError(
        "no Chinese (CJK) font is installed, so Chinese labels would be drawn as empty "
        "boxes; install one with `apt-get install fonts-noto-cjk` (or set "
        "GRIDGEO_CJK_FONT to a .ttf/.ttc/.otf file)"
    )


def rc_params() -> dict[str, Any]:
    """Settings for matplotlib that draw text with :func:`cjk_font` (for ``rc_context``)."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [cjk_font(), "DejaVu Sans"],
        "axes.unicode_minus": False,
    }
