"""The Categories page (`/categories`) and its JSON twin under /api/categories (docs/categories.md,
"The Categories page"): thin views over heartbeat.services.category_table, each calling one verb.

A row is edited against the version the page read (`If-Match`): a stale edit is 412 with the row
as it is now, so the page can say what changed and never overwrites it. A bad value is 400 with
the CLI's reason; a shop category mapped in another row is 409; an unknown row is 404. The guard
lets every request in (auth, and CSRF on every change) before it gets here; each change is
recorded in the audit trail with who made it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.errors import HeartbeatError, Refused
from heartbeat.services.category_table import CategoryTable, ImportRefused, RowNotFoundColumn
from heartbeat.web import requests
from heartbeat.web.pages import actor, render
from tasks.stores.categories import RowChanged, RowNotFound, ShopCategoryTaken

MAX_BODY = 5 * 1024 * 1024  # an uploaded CSV or a JSON body


def _table(request: Request) -> CategoryTable:
    """A fresh set of verbs per request: the shop's tree and the taxonomies are read anew."""
    return request.app.state.categories()


def _answer(act) -> Response:
    """Run `act` (returns a JSON body, or a Response) and turn the verbs' refusals into statuses."""
    try:
        out = act()
    except RowChanged as exc:
        current = exc.current.as_json() if exc.current else None
        return JSONResponse({"error": str(exc), "row": current}, status_code=412)
    except (RowNotFound, RowNotFoundColumn) as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    except ShopCategoryTaken as exc:
        return JSONResponse({"error": str(exc), "row": exc.row_id}, status_code=409)
    except ImportRefused as exc:
        return JSONResponse({"error": str(exc), "errors": exc.errors}, status_code=400)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return out if isinstance(out, Response) else JSONResponse(out)


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(f"request body over {MAX_BODY // (1024 * 1024)} MB")
    return body


async def _json(request: Request) -> dict[str, Any]:
    raw = await _body(request)
    try:
        doc = json.loads(raw or b"{}")
    except ValueError as exc:
        raise Refused(f"body: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise Refused("body: expected a JSON object")
    return doc


def _if_match(request: Request) -> int:
    """The row version an edit was made against; 428 without one (an edit must say what it saw)."""
    given = (request.headers.get("if-match") or "").strip().strip('"').removeprefix("W/").strip('"')
    if not given:
        raise _Precondition()
    if not given.isdigit():
        raise Refused(f"If-Match: expected a version number, got {given[:40]!r}")
    return int(given)


class _Precondition(HeartbeatError):
    pass


def _row_id(request: Request) -> int:
    return request.path_params["row_id"]


# -- the JSON API -------------------------------------------------------------------------------------


def table(request: Request) -> Response:
    return _answer(lambda: _table(request).view())


async def create_row(request: Request) -> Response:
    try:
        doc = await _json(request)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)

    def act():
        row = _table(request).put_row(None, doc.get("cells"), None, actor(request))
        return JSONResponse(row, status_code=201, headers={"Location": f"/api/categories/rows/{row['id']}",
                                                           "ETag": str(row["version"])})

    return _answer(act)


async def put_row(request: Request) -> Response:
    try:
        seen, doc = _if_match(request), await _json(request)
    except _Precondition:
        return JSONResponse({"error": "If-Match: required (the version of the row or table you read)"},
                            status_code=428)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)

    def act():
        row = _table(request).put_row(_row_id(request), doc.get("cells"), seen, actor(request))
        return JSONResponse(row, headers={"ETag": str(row["version"])})

    return _answer(act)


def delete_row(request: Request) -> Response:
    try:
        seen = _if_match(request)
    except _Precondition:
        return JSONResponse({"error": "If-Match: required (the version of the row or table you read)"},
                            status_code=428)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)

    def act():
        _table(request).delete_row(_row_id(request), seen, actor(request))
        return Response(status_code=204)

    return _answer(act)


async def import_csv(request: Request) -> Response:
    try:
        text = (await _body(request)).decode("utf-8")
    except UnicodeDecodeError as exc:
        return JSONResponse({"error": f"upload: not UTF-8 text (bad byte at offset {exc.start})"},
                            status_code=400)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    name = (request.query_params.get("name") or "upload")[:100]
    return _answer(lambda: {"rows": _table(request).import_text(text, name, actor(request))})


def export_csv(request: Request) -> Response:
    return Response(_table(request).export_text(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="category-mapping.csv"'})


def unmapped(request: Request) -> Response:
    return _answer(lambda: _table(request).unmapped_json(_profile(request)))


def products(request: Request) -> Response:
    def act():
        verbs = _table(request)
        shop, _ = verbs.profile_target(_profile(request))
        return verbs.products_in(shop, requests.number(request.query_params, "category", 0) or 0)

    return _answer(act)


def suggestions(request: Request) -> Response:
    limit = min(requests.number(request.query_params, "limit", 3), 20)
    return _answer(lambda: _table(request).suggestions_json(_profile(request), limit))


async def accept(request: Request) -> Response:
    try:
        doc = await _json(request)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)

    def act():
        pairs = doc.get("accept")
        if not isinstance(pairs, list) or not pairs or not all(
                isinstance(p, dict) and "category" in p and "target" in p for p in pairs):
            raise Refused('accept: expected [{"category": SHOP_ID, "target": PLATFORM_ID}, ...]')
        return _table(request).accept(str(doc.get("profile") or ""),
                                      [(p["category"], p["target"]) for p in pairs], actor(request))

    return _answer(act)


def search(request: Request) -> Response:
    q = request.query_params
    limit = requests.number(q, "limit", 20)
    text = (q.get("q") or "")[:200]
    return _answer(lambda: _table(request).search(request.path_params["column"], text, limit))


async def add_column(request: Request) -> Response:
    try:
        doc = await _json(request)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    name = str(doc.get("name") or "")
    return _answer(lambda: JSONResponse(_table(request).add_column(name, actor(request)), status_code=201))


def rules(request: Request) -> Response:
    return _answer(lambda: _table(request).rules())


async def put_rules(request: Request) -> Response:
    try:
        doc = await _json(request)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return _answer(lambda: _table(request).put_rules(doc.get("rules"), actor(request)))


def overrides(request: Request) -> Response:
    return _answer(lambda: _table(request).overrides())


async def set_override(request: Request) -> Response:
    try:
        doc = await _json(request)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    product, column = request.path_params["product_id"], request.path_params["column"]

    def act():
        verbs = _table(request)
        ident = verbs.set_override(product, column, str(doc.get("category") or ""), doc.get("connection"),
                                   actor(request))
        return {"id_product": product, "column": column, "category": ident,
                "path": verbs.path_of(column, ident)}

    return _answer(act)


def unset_override(request: Request) -> Response:
    product, column = request.path_params["product_id"], request.path_params["column"]

    def act():
        _table(request).unset_override(product, column, request.query_params.get("connection") or None,
                                       actor(request))
        return Response(status_code=204)

    return _answer(act)


def _profile(request: Request) -> str:
    name = request.query_params.get("profile")
    if not name:
        raise Refused("profile: required (an export profile with a category_column)")
    return name


# -- the page -----------------------------------------------------------------------------------------


def page(request: Request) -> HTMLResponse:
    """The mapping table, unmapped categories first (for the chosen profile), suggestions, the
    inheritance down each shop's tree, rules and overrides."""
    verbs = _table(request)
    choices = verbs.category_profiles()
    profile = request.query_params.get("profile") or (choices[0] if choices else None)
    context: dict[str, Any] = {"tab": "categories", "profiles": choices, "profile": profile,
                               "view": verbs.view(), "rules": verbs.rules(), "overrides": verbs.overrides(),
                               "unmapped": None, "suggestions": None, "problem": None,
                               "shops": verbs.shop_columns()}
    if profile:
        try:
            context["unmapped"] = verbs.unmapped_json(profile)
            shop, column = verbs.profile_target(profile)
            context.update(shop=shop, column=column)
            if context["unmapped"] and verbs.taxonomy_of(column):
                context["suggestions"] = verbs.suggestions_json(profile)["suggestions"]
        except HeartbeatError as exc:
            context["problem"] = str(exc)
    return render(request, "categories.html", **context)


def products_page(request: Request) -> HTMLResponse:
    """The products of one unmapped shop category (the link from "Unmapped first"), each with its
    override form."""
    verbs = _table(request)
    profile = _profile(request)
    shop, column = verbs.profile_target(profile)
    category = requests.number(request.query_params, "category", 0) or 0
    return render(request, "category_products.html", tab="categories", profile=profile, shop=shop,
                  column=column, category=category, path=verbs.path_of(shop, str(category)),
                  products=verbs.products_in(shop, category))


routes = [
    Route("/categories", page),
    Route("/categories/products", products_page),
    Route("/api/categories", table),
    Route("/api/categories/rows", create_row, methods=["POST"]),
    Route("/api/categories/rows/{row_id:int}", put_row, methods=["PUT"]),
    Route("/api/categories/rows/{row_id:int}", delete_row, methods=["DELETE"]),
    Route("/api/categories/import", import_csv, methods=["POST"]),
    Route("/api/categories/export", export_csv),
    Route("/api/categories/unmapped", unmapped),
    Route("/api/categories/products", products),
    Route("/api/categories/suggestions", suggestions),
    Route("/api/categories/suggestions/accept", accept, methods=["POST"]),
    Route("/api/categories/taxonomy/{column}", search),
    Route("/api/categories/columns", add_column, methods=["POST"]),
    Route("/api/categories/rules", rules),
    Route("/api/categories/rules", put_rules, methods=["PUT"]),
    Route("/api/categories/overrides", overrides),
    Route("/api/products/{product_id:int}/categories/{column}", set_override, methods=["PUT"]),
    Route("/api/products/{product_id:int}/categories/{column}", unset_override, methods=["DELETE"]),
]
