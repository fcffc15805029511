"""A horizontal bar chart as inline SVG (no scripts), for reports read in a browser or a letter."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

ROW, LABEL_H, BAR_H, WIDTH, BAR_W, PAD = 40, 16, 16, 640, 520, 8


def _fmt(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


NEUTRAL = "#1565c0"


def bar_chart(rows: Sequence[tuple[str, float | None]], *, title: str, max_value: float = 100.0,
              unit: str = "%", scale: str = "higher-better") -> str:
    """One bar per ``(label, value)``; a value of None is drawn as «нет данных».

    ``scale`` colours the bars: ``higher-better`` (green from 90 % of ``max_value``, amber from
    70 %, red below), ``lower-better`` (the same read from the other end: a small overdue share is
    green) or ``neutral`` (one colour: a figure with no target, where red would mislead)."""
    height = PAD * 2 + LABEL_H + len(rows) * ROW
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="Arial, sans-serif" font-size="12">'),
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD}" y="{PAD + 12}" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = PAD + LABEL_H + i * ROW
        parts.append(f'<text x="{PAD}" y="{y + 12}">{escape(label)}</text>')
        parts.append(f'<rect x="{PAD}" y="{y + 16}" width="{BAR_W}" height="{BAR_H}" '
                     'fill="#eeeeee"/>')
        if value is None:
            parts.append(f'<text x="{PAD + 4}" y="{y + 28}" fill="#666666">нет данных</text>')
            continue
        width = round(BAR_W * max(0.0, min(value, max_value)) / max_value, 1)
        parts.append(f'<rect x="{PAD}" y="{y + 16}" width="{width}" height="{BAR_H}" '
                     f'fill="{_colour(value / max_value, scale)}"/>')
        parts.append(f'<text x="{PAD + BAR_W + 6}" y="{y + 28}">{_fmt(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _colour(fraction: float, scale: str) -> str:
    if scale == "neutral":
        return NEUTRAL
    if scale == "lower-better":
        fraction = 1.0 - fraction
    if fraction >= 0.9:
        return "#2e7d32"
    if fraction >= 0.7:
        return "#f9a825"
    return "#c62828"
