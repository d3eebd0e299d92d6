"""Pages from Jinja2 templates (``evalkit/report/templates/``), autoescaping on.

``page.html.j2`` is the one base layout every evalkit page shares (the stylesheet with its print rules);
``macros.html.j2`` holds the recurring pieces (decision badge, estimate with interval, count cell);
``portfolio_decisions.html.j2`` is the portfolio's decision table. Python prepares plain values; the
templates escape them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment of evalkit's page templates (autoescaping on, undefined names an error)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("evalkit.report", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def render_template(name: str, **data: Any) -> str:
    """One of ``evalkit/report/templates/`` filled with ``data`` (plain values; the template escapes them)."""
    return environment().get_template(name).render(**data)


__all__ = ["environment", "render_template"]
