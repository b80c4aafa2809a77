"""Payments list and detail, and the project overview."""

from __future__ import annotations

from flask import render_template

from app.portal import bp
from app.portal.context import project_page


@bp.get("/projects/<project_id>")
@project_page
def project_overview(project, env):
    return render_template("portal/stub.html")


@bp.get("/projects/<project_id>/payments")
@project_page
def payments(project, env):
    return render_template("portal/stub.html")


@bp.get("/projects/<project_id>/payments/<purchase_id>")
@project_page
def payment_detail(project, env, purchase_id):
    return render_template("portal/stub.html")
