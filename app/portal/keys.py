"""API keys per environment."""

from __future__ import annotations

from flask import render_template

from app.portal import bp
from app.portal.context import project_page


@bp.get("/projects/<project_id>/keys")
@project_page
def keys(project, env):
    return render_template("portal/stub.html")
