"""The SkyScript Airflow plugin: calibration review and audit pages inside the Airflow UI.

Mounts the FastAPI app of :mod:`skyscript_review.app` under ``/skyscript`` (``fastapi_apps``) and
adds "Calibration review", "Audit reports" and "Lineage" to the navigation (``external_views``). Every route needs an Airflow
login (the UI's JWT cookie or a bearer token) checked by Airflow's own ``requires_access_view``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # Airflow puts the plugins folder on sys.path; be explicit for tests
    sys.path.append(_HERE)

from skyscript_review.app import URL_PREFIX, create_app  # noqa: E402


class SkyScriptPlugin(AirflowPlugin):
    name = "skyscript"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "SkyScript calibration and audit"}]
    external_views = [
        {
            "name": "Calibration review",
            "href": URL_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "category": "browse",
            "url_route": "skyscript-review",
        },
        {
            "name": "Audit reports",
            "href": URL_PREFIX.lstrip("/") + "/reports",
            "destination": "nav",
            "category": "browse",
            "url_route": "skyscript-reports",
        },
        {
            "name": "Lineage",
            "href": URL_PREFIX.lstrip("/") + "/trace",
            "destination": "nav",
            "category": "browse",
            "url_route": "skyscript-lineage",
        },
    ]
