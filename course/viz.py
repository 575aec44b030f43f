"""Shared plotting style and the plots more than one notebook uses. Every function returns a
plotly figure; lesson-specific plots live beside their lesson's helpers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FONT_SIZE = 16  # readable from the back of a classroom
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]


def style(fig, title: str | None = None, height: int = 520):
    """The course look: large fonts, white background, a title that says what is shown."""
    fig.update_layout(template="plotly_white", font=dict(size=FONT_SIZE), height=height,
                      margin=dict(l=60, r=30, t=70, b=60))
    if title:
        fig.update_layout(title=dict(text=title, x=0.01))
    return fig


def similarity_heatmap(matrix, rows: Sequence[str], cols: Sequence[str] | None = None,
                       title: str = "Cosine similarity", zmin: float = -0.2, zmax: float = 1.0,
                       max_label: int = 40):
    """Heatmap of a similarity matrix with the values printed in each cell."""
    import plotly.graph_objects as go

    m = np.asarray(matrix, dtype=float)
    cols = rows if cols is None else cols
    if m.shape != (len(rows), len(cols)):
        raise ValueError(f"matrix is {m.shape} but there are {len(rows)} row and {len(cols)} column labels")

    def cut(s: str) -> str:
        return s if len(s) <= max_label else s[: max_label - 1] + "…"

    fig = go.Figure(go.Heatmap(z=m, x=[cut(c) for c in cols], y=[cut(r) for r in rows],
                               zmin=zmin, zmax=zmax, colorscale="RdBu_r", zmid=0,
                               text=np.round(m, 2), texttemplate="%{text}",
                               hovertemplate="%{y}<br>%{x}<br>cos = %{z:.3f}<extra></extra>",
                               colorbar=dict(title="cos")))
    fig.update_yaxes(autorange="reversed")
    return style(fig, title, height=max(420, 60 + 42 * len(rows)))

