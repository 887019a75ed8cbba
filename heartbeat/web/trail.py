"""Who did what, and when: the Audit page (`/audit`) and its JSON twin (`/api/audit`), and the
timeline's JSON (`/api/timeline`; the tasks page draws it, timeline.py). Thin views over
TaskManager.audit and TaskManager.timeline."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from heartbeat.services.tasks import MAX_TIMELINE_HOURS
from heartbeat.web import requests
from heartbeat.web.pages import render

PAGE = 50


def _entries(request: Request) -> tuple[list, int]:
    q = request.query_params
    limit = min(requests.number(q, "limit", PAGE), 500)
    return request.app.state.tasks.audit.list(limit, requests.number(q, "before", None)), limit


def audit_json(request: Request) -> JSONResponse:
    """Newest first; `?before=ID&limit=N` is the cursor, and a full page has a Link to the next."""
    entries, limit = _entries(request)
    headers = {}
    if len(entries) == limit:
        headers["Link"] = f'</api/audit?before={entries[-1].id}&limit={limit}>; rel="next"'
    return JSONResponse([e.to_json() for e in entries], headers=headers)


def audit_page(request: Request) -> HTMLResponse:
    entries, limit = _entries(request)
    older = f"before={entries[-1].id}" if len(entries) == limit else None
    return render(request, "audit.html", tab="audit", entries=entries, older=older)


def timeline_json(request: Request) -> JSONResponse:
    hours = requests.number(request.query_params, "hours", 24)
    if hours > MAX_TIMELINE_HOURS:
        raise requests.BadRequest(f"hours: expected 1 to {MAX_TIMELINE_HOURS}, got {hours}")
    return JSONResponse(request.app.state.tasks.timeline(hours))


routes = [
    Route("/audit", audit_page),
    Route("/api/audit", audit_json),
    Route("/api/timeline", timeline_json),
]
