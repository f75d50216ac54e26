"""Calibration review pages: the queue, a packet page (masked frame with its boxes drawn, every
field beside it, accept / fix / reject per item, keyboard shortcuts), and a batch's accuracy.

Routes are guarded by Airflow's auth (``requires_access_view(AccessView.WEBSITE)``); the
reviewer's name is the Airflow user's. Decisions and corrections go through
:mod:`skyscript.calibration.review`, so a fix is a new annotation version by that user. POSTs
from another origin are refused (the login is a cookie).
"""

from __future__ import annotations

import asyncio
from functools import cached_property
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode, urlparse

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from skyscript.calibration import review as rv
from skyscript.calibration.accuracy import batch_accuracy
from skyscript.calibration.items import CorrectionError, Decision, ItemKind, render_value
from skyscript.calibration.sampling import CalibrationError
from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.db.models import CalibrationBatch, CalibrationPacket, Keyframe
from skyscript.store import Area, ObjectNotFound, ObjectStore, open_store

URL_PREFIX = "/skyscript"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.filters["pct"] = lambda v: "n/a" if v is None else f"{100 * float(v):.1f}%"
BOX_COLOURS = {"face.box": "#e6194b", "person.face_box": "#f58231", "person.body_box": "#3cb44b", "object.box": "#4363d8"}


class Backend:
    """The lineage database and the store, opened on first use from the settings in force."""

    def __init__(self, settings_factory: Callable[[], Settings] = Settings) -> None:
        self._factory = settings_factory

    @cached_property
    def settings(self) -> Settings:
        return self._factory()

    @cached_property
    def db(self) -> Database:
        db = Database(self.settings.database_url or "")
        db.upgrade()
        return db

    @cached_property
    def store(self) -> ObjectStore:
        return open_store(self.settings)


def airflow_user_dependency() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Airflow's view check and its user dependency (imported here: only the plugin needs them)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user, requires_access_view

    return requires_access_view(AccessView.WEBSITE), get_user


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlparse(origin).netloc != request.headers.get("host"):
        raise HTTPException(status_code=403, detail="cross-origin form posts are refused")


def create_app(backend: Backend | None = None) -> FastAPI:
    backend = backend or Backend()
    guard, get_user = airflow_user_dependency()
    app = FastAPI(title="SkyScript calibration review", dependencies=[Depends(guard)])
    app.state.backend = backend
    app.state.auth = (guard, get_user)  # what tests override to sign someone in

    def reviewer(user: Any = Depends(get_user)) -> str:
        return str(user.get_name())

    async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    def _errors(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            try:
                return fn(*args)
            except (CalibrationError, CorrectionError) as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from None
        return run

    # --- the queue ---------------------------------------------------------------------------

    def _queue(user: str) -> dict[str, Any]:
        with backend.db.session() as s:
            batches = []
            for b in s.scalars(select(CalibrationBatch).order_by(CalibrationBatch.created_at.desc()).limit(50)):
                batches.append({"id": b.id, "dramas": ", ".join(b.dramas), "round": b.round, "status": b.status,
                                "size": b.size, **rv.progress(s, b.id)})
            todo = [{"id": p.id, "batch": p.batch_id, "keyframe": p.keyframe_id, "n_items": len(p.items),
                     "overlap": p.overlap, "position": p.position} for p in rv.queue(s, user)]
        return {"batches": batches, "todo": todo}

    @app.get("/", response_class=HTMLResponse, name="queue")
    async def queue_page(request: Request, user: str = Depends(reviewer)) -> Response:
        data = await in_thread(_queue, user)
        return TEMPLATES.TemplateResponse(request, "queue.html", {"user": user, **data})

    # --- a packet ----------------------------------------------------------------------------

    def _packet(packet_id: str, user: str) -> dict[str, Any]:
        with backend.db.session() as s:
            p = rv.get_packet(s, packet_id)
            decisions = rv.decisions_of(s, packet_id, user)
            done_by = rv.submitted_reviewers(s, packet_id)
            siblings = list(s.scalars(select(CalibrationPacket.id).where(CalibrationPacket.batch_id == p.batch_id).order_by(CalibrationPacket.position)))
            kf = s.get(Keyframe, p.keyframe_id)
            width = height = None
            for kind in ("keyinfo", "faces"):
                payload = (p.snapshot.get(kind) or {}).get("payload") or {}
                width, height = payload.get("width") or width, payload.get("height") or height
            items = []
            for i, it in enumerate(rv.packet_items(p)):
                d = decisions.get(it.key)
                items.append({
                    "n": i, "key": it.key, "label": it.label, "field": it.field, "box": it.kind is ItemKind.box,
                    "value": render_value(it.value), "raw": it.value, "colour": BOX_COLOURS.get(it.field, "#ffe119"),
                    "decision": d[0].value if d else None, "fixed": render_value(d[1]) if d and d[1] is not None else "",
                })
            idx = siblings.index(p.id)
            return {
                "packet": {"id": p.id, "batch": p.batch_id, "keyframe": p.keyframe_id, "stratum": p.stratum,
                           "overlap": p.overlap, "position": p.position, "count": len(siblings)},
                "items": items, "width": width, "height": height, "has_frame": bool(kf and kf.public_key),
                "done_by": done_by, "submitted": user in done_by,
                "prev": siblings[idx - 1] if idx > 0 else None, "next": siblings[idx + 1] if idx + 1 < len(siblings) else None,
            }

    @app.get("/packet/{packet_id}", response_class=HTMLResponse, name="packet")
    async def packet_page(request: Request, packet_id: str, msg: str = "", err: str = "", user: str = Depends(reviewer)) -> Response:
        data = await in_thread(_errors(_packet), packet_id, user)
        return TEMPLATES.TemplateResponse(request, "packet.html", {"user": user, "msg": msg, "err": err, **data})

    @app.get("/api/packet/{packet_id}", name="packet_json")
    async def packet_json(packet_id: str, user: str = Depends(reviewer)) -> JSONResponse:
        data = await in_thread(_errors(_packet), packet_id, user)
        return JSONResponse(data)

    def _frame(packet_id: str) -> bytes:
        with backend.db.session() as s:
            p = rv.get_packet(s, packet_id)
            kf = s.get(Keyframe, p.keyframe_id)
            if kf is None or not kf.public_key:
                raise HTTPException(status_code=404, detail=f"keyframe {p.keyframe_id} has no published frame")
            key = kf.public_key
        try:
            return backend.store.get_bytes(Area.public, key)  # the privacy-masked frame only
        except ObjectNotFound:
            raise HTTPException(status_code=404, detail=f"public/{key} is missing") from None

    @app.get("/packet/{packet_id}/frame.jpg", name="frame")
    async def frame(packet_id: str) -> Response:
        data = await in_thread(_errors(_frame), packet_id)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})

    def _back(request: Request, packet_id: str, anchor: str = "", **query: str) -> RedirectResponse:
        url = str(request.url_for("packet", packet_id=packet_id))
        q = urlencode({k: v for k, v in query.items() if v})
        return RedirectResponse(url + (f"?{q}" if q else "") + anchor, status_code=303)

    @app.post("/packet/{packet_id}/decide", name="decide")
    async def decide(
        request: Request, packet_id: str, item: str = Form(...), decision: str = Form(...), value: str = Form(""),
        n: str = Form(""), user: str = Depends(reviewer),
    ) -> Response:
        _same_origin(request)

        def work() -> None:
            with backend.db.session() as s:
                rv.decide(s, packet_id, user, item, Decision(decision), value if decision == "fix" else None)

        try:
            await in_thread(work)
        except (CalibrationError, CorrectionError, ValueError) as exc:
            return _back(request, packet_id, f"#item-{n}" if n else "", err=str(exc))
        return _back(request, packet_id, f"#item-{n}" if n else "")

    @app.post("/packet/{packet_id}/submit", name="submit")
    async def submit(request: Request, packet_id: str, accept_rest: str = Form(""), user: str = Depends(reviewer)) -> Response:
        _same_origin(request)

        def work() -> tuple[rv.Submitted, str | None]:
            with backend.db.session() as s:
                done = rv.submit(s, packet_id, user, accept_rest=bool(accept_rest))
            with backend.db.session() as s:
                nxt = rv.queue(s, user, rv.get_packet(s, packet_id).batch_id)
                return done, (nxt[0].id if nxt else None)

        try:
            done, nxt = await in_thread(work)
        except (CalibrationError, CorrectionError) as exc:
            return _back(request, packet_id, err=str(exc))
        written = ", ".join(f"{k} v{v}" for k, v in done.versions.items()) or "no corrections"
        msg = f"packet {packet_id} submitted ({written})"
        return _back(request, nxt, msg=msg) if nxt else RedirectResponse(
            str(request.url_for("queue")) + "?" + urlencode({"msg": msg}), status_code=303
        )

    # --- a batch's accuracy --------------------------------------------------------------------

    @app.get("/batch/{batch_id}", response_class=HTMLResponse, name="batch")
    async def batch_page(request: Request, batch_id: str, user: str = Depends(reviewer)) -> Response:
        def work() -> dict[str, Any]:
            with backend.db.session() as s:
                return batch_accuracy(s, backend.settings, batch_id).model_dump(mode="json")

        rep = await in_thread(_errors(work))
        return TEMPLATES.TemplateResponse(request, "batch.html", {"user": user, "r": rep})

    @app.get("/api/batch/{batch_id}", name="batch_json")
    async def batch_json(batch_id: str) -> JSONResponse:
        def work() -> dict[str, Any]:
            with backend.db.session() as s:
                return batch_accuracy(s, backend.settings, batch_id).model_dump(mode="json")

        return JSONResponse(await in_thread(_errors(work)))

    # --- auditors: reports in the public area, lineage traces -----------------------------------

    def _reports() -> list[dict[str, Any]]:
        out = []
        for key in backend.store.list(Area.public, "reports/"):
            if key.endswith((".html", ".json")) and not key.endswith("/latest.json"):
                parts = key.split("/")
                out.append({"key": key, "scope": parts[1] if len(parts) > 2 else "", "name": "/".join(parts[2:])})
        return out

    @app.get("/reports", response_class=HTMLResponse, name="reports")
    async def reports_page(request: Request, user: str = Depends(reviewer)) -> Response:
        rows = await in_thread(_reports)
        return TEMPLATES.TemplateResponse(request, "reports.html", {"user": user, "reports": rows})

    @app.get("/reports/{key:path}", name="report")
    async def report(key: str) -> Response:
        if not key.endswith((".html", ".json")) or ".." in key.split("/"):
            raise HTTPException(status_code=404, detail="reports are .html or .json files")
        try:
            data = await in_thread(backend.store.get_bytes, Area.public, f"reports/{key}")
        except ObjectNotFound:
            raise HTTPException(status_code=404, detail=f"no report reports/{key}") from None
        kind = "text/html; charset=utf-8" if key.endswith(".html") else "application/json"
        # our own pages; no script runs in them
        return Response(data, media_type=kind, headers={"Content-Security-Policy": "script-src 'none'"})

    @app.get("/trace", response_class=HTMLResponse, name="trace_form")
    async def trace_form(request: Request, id: str = "", user: str = Depends(reviewer)) -> Response:
        if id:
            return RedirectResponse(str(request.url_for("trace", record_id=id.strip())), status_code=303)
        return TEMPLATES.TemplateResponse(request, "trace.html", {"user": user, "t": None, "record_id": ""})

    @app.get("/trace/{record_id}", response_class=HTMLResponse, name="trace")
    async def trace_page(request: Request, record_id: str, user: str = Depends(reviewer)) -> Response:
        from skyscript.db import lineage

        def work() -> dict[str, Any]:
            with backend.db.session() as s:
                t = lineage.trace_keyframe(s, record_id)
                return {"keyframe": t.keyframe, "shot": t.shot, "episode": t.episode, "drama": t.drama, "source": t.source,
                        "annotations": t.annotations, "step_runs": t.step_runs, "losses": t.losses}

        try:
            t = await in_thread(work)
        except LookupError as exc:
            return TEMPLATES.TemplateResponse(request, "trace.html", {"user": user, "t": None, "record_id": record_id,
                                                                      "err": str(exc)}, status_code=404)
        return TEMPLATES.TemplateResponse(request, "trace.html", {"user": user, "t": t, "record_id": record_id})

    return app
