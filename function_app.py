"""Every trigger of the connector, thin: parse the input, call a handler in ``shared``, return.

This file is the map of the app. Settings are read per feature when a function runs, so a missing
setting for one feature never stops the others from loading; /api/health reports what is missing.
"""

from __future__ import annotations

import json

import azure.functions as func

from shared.config import AppSettings

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Report whether each feature's settings are complete (names of problems only, never values)."""
    problems = AppSettings.from_environment().problems()
    body = {"status": "degraded" if problems else "ok", "configuration": problems}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
