"""/metrics, /livez and /readyz on the web page's address (docs/operations.md): the same answers as
the `[metrics] listen` server of `heartbeat run`, from heartbeat.ops.metrics. No login (guard.OPEN_PATHS):
they expose counts only, never product data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heartbeat.ops import metrics


def routes(app) -> list[Route]:
    """The three routes over `app` (heartbeat.app.App). Plain functions: Starlette runs them in its
    thread pool, so a slow database never blocks the event loop."""

    def scrape(request: Request) -> Response:
        body, content_type = metrics.exposition(app)
        return Response(body, media_type=content_type)

    def health(check) -> Response:
        return Response(check.body, status_code=check.http_status, media_type="text/plain")

    return [Route("/metrics", scrape),
            Route("/livez", lambda request: health(metrics.liveness())),
            Route("/readyz", lambda request: health(metrics.readiness(app)))]
