"""Assembly of the double: FastAPI app with the /api routes, admin endpoints, auth and faults."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .api import DmsError, build_router
from .auth import AuthMiddleware, TechUser
from .faults import FaultMiddleware, FaultState
from .store import Store


def create_app(store: Store, users: dict[str, TechUser], faults: FaultState) -> Any:
    """The ASGI app: faults (outermost) -> auth -> FastAPI."""
    app = FastAPI(title="E-Akte-Double (EAI v1.2.5)", docs_url="/swagger-ui", redoc_url=None)
    app.include_router(build_router(store))

    @app.exception_handler(DmsError)
    async def _dms_error(_request: Request, exc: DmsError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"fehlerQuelle": "INTERN", "status": 3,
                             "text": f"Endpunkt nicht gefunden: {request.method} {request.url.path}"},
                            status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"fehlerQuelle": "INTERN", "status": 2, "text": type(exc).__name__},
                            status_code=500)

    @app.get("/actuator/health")
    async def health() -> dict[str, str]:
        return {"status": "UP"}

    @app.get("/__faults")
    async def get_faults() -> dict[str, Any]:
        return faults.settings.model_dump()

    @app.post("/__faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            reset = bool(body.pop("reset", False)) if isinstance(body, dict) else False
            settings = faults.update(body if isinstance(body, dict) else {}, reset=reset)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(settings.model_dump())

    @app.delete("/__faults")
    async def clear_faults() -> dict[str, Any]:
        return faults.update({}, reset=True).model_dump()

    @app.get("/__stats")
    async def stats() -> dict[str, Any]:
        return {**faults.stats(), "objects": store.count(), "cases": store.count_cases()}

    @app.post("/__stats/reset")
    async def reset_stats() -> dict[str, Any]:
        faults.reset_stats()
        return faults.stats()

    return FaultMiddleware(AuthMiddleware(app, users), faults)
