"""Plain server-side SVG charts (no JavaScript, nothing from a CDN): a bar chart and a line chart with points.

Labels are numbers and dates only, so the charts need no translation; the page around them gives the title.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 36


def _frame(body: list[str], y_ticks: list[tuple[float, str]], chart_id: str, label: str) -> str:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{escape(label)}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">']
    for frac, text in y_ticks:
        y = PAD_TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{escape(text)}</text>')
    parts.extend(body)
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(labels: list[str], xs: list[float], every: int) -> list[str]:
    out = []
    for i, (text, x) in enumerate(zip(labels, xs, strict=True)):
        last = i == len(labels) - 1 and i % every >= every / 2  # the last label, unless it would touch another
        if i % every == 0 or last:
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" text-anchor="middle" class="tick">'
                       f'{escape(text)}</text>')
    return out


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `value` (at least 1)."""
    step = 1.0
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def bar_chart(points: list[tuple[str, int]], chart_id: str, label: str, *, label_every: int = 7) -> str:
    """Bars of counts per label (e.g. votes per day); the x axis shows every `label_every`-th label."""
    top = _nice_max(max((v for _, v in points), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(1, len(points))
    body, xs = [], []
    for i, (text, value) in enumerate(points):
        h = plot_h * value / top
        x = PAD_LEFT + i * step
        xs.append(x + step / 2)
        body.append(f'<rect x="{x + step * 0.1:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{step * 0.8:.1f}" '
                    f'height="{h:.1f}" class="bar" data-label="{escape(text)}" data-value="{value}"/>')
    body += _x_labels([t[5:] if len(t) == 10 else t for t, _ in points], xs, label_every)
    ticks = [(f, f"{top * f:g}") for f in (0, 0.5, 1)]
    return _frame(body, ticks, chart_id, label)


def line_chart(points: list[tuple[str, float | None]], chart_id: str, label: str, *, low: float = 0.0,
               high: float = 1.0, tick: float = 0.2) -> str:
    """A line through the defined values (None leaves a gap) on a fixed [low, high] scale with a grid line every
    `tick`, e.g. kappa per week."""
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(1, len(points))
    xs = [PAD_LEFT + (i + 0.5) * step for i in range(len(points))]
    body, path = [], []
    for x, (text, value) in zip(xs, points, strict=True):
        if value is None:
            path.append(None)
            continue
        clipped = min(high, max(low, value))
        y = PAD_TOP + plot_h * (1 - (clipped - low) / (high - low))
        path.append((x, y))
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="point" data-label="{escape(text)}" '
                    f'data-value="{value:.4f}"/>')
    run: list[str] = []
    for point in [*path, None]:
        if point is None:
            if len(run) > 1:
                body.insert(0, f'<polyline points="{" ".join(run)}" class="line"/>')
            run = []
        else:
            run.append(f"{point[0]:.1f},{point[1]:.1f}")
    body += _x_labels([t for t, _ in points], xs, max(1, len(points) // 8))
    values = [round(low + i * tick, 6) for i in range(round((high - low) / tick) + 1)]
    ticks = [((v - low) / (high - low), f"{v:g}") for v in values]
    return _frame(body, ticks, chart_id, label)
