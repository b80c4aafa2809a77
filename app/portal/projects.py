"""Projects: create one (its keys are shown once, then), rename it, set its store URL,
archive and restore it."""

from __future__ import annotations

import re

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required

from app.errors import ValidationError
from app.models import Environment, Project
from app.portal import bp
from app.portal.context import project_page, reason
from app.portal.forms import NewProjectForm, ProjectForm
from app.security import random_token
from app.services.accounts.projects import (
    ProjectAlreadyCreatedError,
    archive_project,
    create_project,
    projects_of,
    restore_project,
    update_project,
)

_CREATION_TOKEN = re.compile(r"[A-Za-z0-9]{32}")
ALREADY_CREATED = lazy_gettext(
    "This project was already created (the form was sent again). Its secrets were shown once: "
    "if you did not copy them, rotate them on the Keys page."
)


@bp.get("/projects")
@login_required
def projects():
    return render_template(
        "portal/projects.html",
        projects=projects_of(current_user),
        archived=projects_of(current_user, archived=True),
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new_project():
    form = NewProjectForm()
    if not form.is_submitted():
        form.creation_token.data = random_token(32)
    if form.validate_on_submit():
        token = form.creation_token.data or ""
        try:
            created = create_project(
                current_user,
                form.name.data,
                form.store_url_template.data or None,
                creation_token=token if _CREATION_TOKEN.fullmatch(token) else None,
            )
        except ProjectAlreadyCreatedError as exc:
            flash(str(ALREADY_CREATED))
            return redirect(url_for("portal.project_overview", project_id=exc.project.id), 303)
        except ValidationError as exc:
            _field_for(form, exc).errors.append(reason(exc))
        else:
            # The secrets exist in plain text only in this response (sent with no-store).
            keys = [(environment, created.keys[environment]) for environment in Environment]
            return render_template(
                "portal/project_created.html",
                created=created.project,
                keys=keys,
                sandbox=created.keys[Environment.SANDBOX],
                public_base_url=current_app.config["PUBLIC_BASE_URL"],
            )
    return render_template("portal/project_new.html", form=form)


@bp.route("/projects/<project_id>/settings", methods=["GET", "POST"])
@project_page
def project_settings(project: Project, env: Environment):
    form = ProjectForm(obj=project)
    if form.validate_on_submit():
        try:
            update_project(project, form.name.data, form.store_url_template.data or None)
        except ValidationError as exc:
            _field_for(form, exc).errors.append(reason(exc))
        else:
            flash(gettext("Project saved."))
            return redirect(url_for("portal.project_settings", project_id=project.id, env=env))
    return render_template("portal/project_settings.html", form=form)


@bp.post("/projects/<project_id>/archive")
@project_page
def archive(project: Project, env: Environment):
    # CSRFProtect has already refused a POST without a valid token (400).
    archive_project(project)
    flash(
        gettext(
            "%(name)s is archived: no new checkout starts; payments already made still settle "
            "and their webhooks still go out. Restore it here at any time.",
            name=project.name,
        )
    )
    return redirect(url_for("portal.project_settings", project_id=project.id, env=env), 303)


@bp.post("/projects/<project_id>/restore")
@project_page
def restore(project: Project, env: Environment):
    restore_project(project)
    flash(gettext("%(name)s is restored.", name=project.name))
    return redirect(url_for("portal.project_settings", project_id=project.id, env=env), 303)


def _field_for(form: ProjectForm, exc: ValidationError):
    return form.store_url_template if exc.field == "store_url_template" else form.name
