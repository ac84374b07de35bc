"""Plotly figure builders: pure functions from frames to figures."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl


def daily_volume(frame: pl.DataFrame) -> go.Figure:
    """Stacked bars of records per day, one colour per category (columns day, category, records)."""
    if frame.is_empty():
        fig = go.Figure()
        fig.update_layout(annotations=[{"text": "No records", "showarrow": False}])
        return fig
    fig = px.bar(
        frame.sort("day"), x="day", y="records", color="category",
        labels={"day": "Day", "records": "Records per day", "category": "Category"},
    )
    fig.update_layout(
        barmode="stack", height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hovermode="x unified",
    )
    return fig
