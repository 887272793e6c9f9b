"""The monthly (or any period's) oversight report as PDF, with WeasyPrint like invoices (Noto CJK for the
Chinese). Charts are inline SVG drawn here: WeasyPrint runs no JavaScript."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.translation import get_language

from .labels import KPI_LABELS, STATUS_LABELS, TABLE_KPIS, change_display, kpi_display
from .periods import Period
from .selectors import Scope, breakdown, kpi_overview, kpi_series

_CHART_KPIS = (("in_service_rate", "#0b5cad"), ("allocation_rate", "#d97706"), ("utilization", "#059669"),
               ("consumption_rate", "#7c3aed"))


def _svg_chart(series: list[dict], width: int = 640, height: int = 180) -> str:
    """A line chart of the daily rates, 0–100 %."""
    days = len(series)
    step = width / max(days - 1, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" '
             f'viewBox="0 0 {width} {height + 20}">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="none" stroke="#999" stroke-width="0.5"/>']
    for pct in (25, 50, 75):
        y = height - height * pct / 100
        parts.append(f'<line x1="0" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#ddd" stroke-width="0.5"/>'
                     f'<text x="2" y="{y - 2:.1f}" font-size="8" fill="#777">{pct} %</text>')
    for index, (name, colour) in enumerate(_CHART_KPIS):
        points = [f"{i * step:.1f},{height - height * point['kpis'][name]:.1f}" for i, point in enumerate(series)
                  if point["kpis"] and point["kpis"][name] is not None]
        if points:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{" ".join(points)}"/>')
        parts.append(f'<text x="{10 + index * 160}" y="{height + 14}" font-size="9" fill="{colour}">'
                     f'{KPI_LABELS[name]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_pdf(*, scope: Scope, period: Period, request=None) -> bytes:
    from weasyprint import HTML  # imported late: it loads Pango, which only PDF downloads need

    overview = kpi_overview(scope=scope, period=period)
    rows = breakdown(scope=scope, period=period, dimension="region", language=get_language())
    targets = overview["targets"]
    kpis = [{"label": KPI_LABELS[name], "value": kpi_display(name, value),
             "change": change_display(name, overview["change"][name]),
             "status": overview["status"].get(name, "none"),
             "status_label": STATUS_LABELS[overview["status"].get(name, "none")],
             "target_text": (f"{kpi_display(name, targets[name].green_at)} / "
                             f"{kpi_display(name, targets[name].amber_at)}" if name in targets else "")}
            for name, value in overview["kpis"].items()]
    html = render_to_string("oversight/report_pdf.html", {
        "organization": scope.organization, "period": period, "kpis": kpis, "scope": scope,
        "chart": _svg_chart(kpi_series(scope=scope, period=period)),
        "columns": [KPI_LABELS[name] for name in TABLE_KPIS],
        "rows": [{"label": row["label"], "cells": [kpi_display(name, row["kpis"].get(name)) for name in TABLE_KPIS]}
                 for row in rows],
    }, request=request)
    return HTML(string=html, base_url=request.build_absolute_uri("/") if request else None).write_pdf()
