"""Invoice PDFs with WeasyPrint. Chinese text (the 发票 title, the zh-hans interface) is set in Noto CJK,
which WeasyPrint finds through fontconfig and embeds in the file."""

from __future__ import annotations

from django.template.loader import render_to_string

from .models import Invoice


def invoice_pdf(*, invoice: Invoice, request=None) -> bytes:
    from weasyprint import HTML  # imported late: it loads Pango, which only PDF downloads need

    html = render_to_string("billing/invoice_pdf.html", {"invoice": invoice, "lines": invoice.lines.all()},
                            request=request)
    return HTML(string=html, base_url=request.build_absolute_uri("/") if request else None).write_pdf()
