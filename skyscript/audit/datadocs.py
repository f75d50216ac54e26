"""Great Expectations Data Docs for the loss and accuracy gates, as a static file site in the
public area (``reports/data-docs/``).

Both gates keep GX's validation results in their JSON reports (``validation``: one result per
validated table), so the site is built from the store: each result is loaded back into GX's
``ExpectationSuiteValidationResult`` and rendered with GX's own Data Docs renderer
(``ValidationResultsPageRenderer`` + ``DefaultJinjaPageView``); an index page links them. GX's
pages load their stylesheets from public CDNs, as every GX Data Docs site does.
"""

from __future__ import annotations

import json
import logging
from html import escape
from typing import Any

from skyscript.store import Area, ObjectStore

ROOT = "reports/data-docs"
log = logging.getLogger("skyscript.audit.datadocs")


def render_validation(result: dict[str, Any]) -> str:
    """GX's Data Docs page for one validation result (its JSON form)."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    loaded = ExpectationSuiteValidationResultSchema().load(result)
    return str(DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(loaded)))


def _gate_reports(store: ObjectStore) -> list[tuple[str, str, str]]:
    """(scope, run, key) of every kept gate report with validations."""
    out = []
    for key in store.list(Area.public, "reports/"):
        parts = key.split("/")
        if key.startswith(ROOT + "/") or not key.endswith(".json") or key.endswith("/latest.json"):
            continue
        if len(parts) == 4 and parts[2] == "loss-gate":  # reports/<drama>/loss-gate/<run>.json
            out.append((f"loss/{parts[1]}", parts[3][:-5], key))
        elif len(parts) == 4 and parts[1] == "calibration" and parts[3] == "accuracy-gate.json":
            out.append(("accuracy", parts[2], key))
    return out


def build_site(store: ObjectStore, only: str | None = None) -> list[str]:
    """Render every gate report's validations (or those whose scope/run contains ``only``) and
    rewrite the index. Returns the page keys written."""
    written: list[str] = []
    for scope, run, key in _gate_reports(store):
        if only and only not in f"{scope}/{run}":
            continue
        try:
            doc = json.loads(store.get_bytes(Area.public, key))
        except ValueError:
            log.warning("skipping %s: not JSON", key)
            continue
        for table, result in (doc.get("validation") or {}).items():
            page = f"{ROOT}/{scope}/{run}/{table}.html"
            store.put_bytes(Area.public, page, render_validation(result).encode(), "text/html; charset=utf-8")
            written.append(page)
    _write_index(store)
    return written


def _write_index(store: ObjectStore) -> None:
    pages = sorted(k for k in store.list(Area.public, ROOT + "/") if k.endswith(".html") and not k.endswith("/index.html"))
    rows = []
    for k in pages:
        rel = k[len(ROOT) + 1:]
        rows.append(f'<tr><td>{escape("/".join(rel.split("/")[:-2]))}</td><td>{escape(rel.split("/")[-2])}</td>'
                    f'<td><a href="{escape(rel)}">{escape(rel.split("/")[-1][:-5])}</a></td></tr>')
    html = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>SkyScript Data Docs</title>"
            "<style>body{font:14px system-ui,sans-serif;margin:24px}td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #ddd}"
            "table{border-collapse:collapse}</style></head><body><h1>Data Docs: loss and accuracy gates</h1>"
            "<table><tr><th>gate</th><th>run / batch</th><th>validated table</th></tr>" + "".join(rows) + "</table></body></html>")
    store.put_bytes(Area.public, f"{ROOT}/index.html", html.encode(), "text/html; charset=utf-8")
