"""Projects: create one (its keys are shown once, then), rename it, set its store URL."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.errors import ValidationError
from app.models import Environment, Project
from app.portal import bp
from app.portal.context import project_page, sentence
from app.portal.forms import ProjectForm
from app.services.accounts.projects import create_project, projects_of, update_project


@bp.get("/projects")
@login_required
def projects():
    return render_template("portal/projects.html", projects=projects_of(current_user))


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new_project():
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            created = create_project(
                current_user, form.name.data, form.store_url_template.data or None
            )
        except ValidationError as exc:
            _field_for(form, exc).errors.append(sentence(exc.message))
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
            _field_for(form, exc).errors.append(sentence(exc.message))
        else:
            flash("Project saved.")
            return redirect(url_for("portal.project_settings", project_id=project.id, env=env))
    return render_template("portal/project_settings.html", form=form)


def _field_for(form: ProjectForm, exc: ValidationError):
    return form.store_url_template if exc.field == "store_url_template" else form.name
