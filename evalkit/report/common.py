"""Display helpers every report module shares: the :class:`Section` object and figures as HTML.

A leaf of :mod:`evalkit.report`: it imports nothing from evalkit, so the section
façade (:mod:`.sections`) and the bodies (:mod:`.render`, :mod:`.portfolio`) can
all use it without importing each other.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True, repr=False)
class Section:
    """A piece of the report: HTML built from aggregates, shown as-is by Jupyter."""

    html: str

    def __repr__(self) -> str:  # the plain-text twin Jupyter stores beside the HTML: keep it short
        return f"<report section, {len(self.html):,} characters of HTML>"

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:  # readable outside Jupyter
        return self.html


def figure_html(fig: Any, *, alt: str, width: str = "100%") -> str:
    """A matplotlib figure as an ``<img>`` with a PNG data URI (and closes the figure)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"<figure><img alt='{html.escape(alt)}' style='max-width:{width}' "
            f"src='data:image/png;base64,{data}'/></figure>")


def html_of(obj: Any) -> str:
    """HTML for anything a section may show: a Section, a result object, a frame, a figure, an HTML
    string, or a list of these."""
    if obj is None:
        return ""
    if isinstance(obj, Section):
        return obj.html
    if hasattr(obj, "savefig"):
        return figure_html(obj, alt=getattr(obj, "_suptitle", None) and obj._suptitle.get_text() or "figure")
    if hasattr(obj, "_repr_html_"):
        return obj._repr_html_()
    if isinstance(obj, pd.DataFrame):
        return obj.to_html(border=0, index=False, escape=True)
    if isinstance(obj, str):  # already HTML (callers escape their text)
        return obj
    if isinstance(obj, (list, tuple)):
        return "".join(html_of(item) for item in obj)
    return f"<p>{html.escape(str(obj))}</p>"


__all__ = ["Section", "figure_html", "html_of"]
