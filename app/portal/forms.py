"""Portal forms. Flask-WTF adds the csrf_token field and checks it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.errors import ValidationError as ServiceValidationError
from app.services.accounts.users import MIN_PASSWORD_LENGTH, normalize_email

PASSWORD_LENGTH = f"Password must be at least {MIN_PASSWORD_LENGTH} characters."


class RegisterForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_LENGTH),
        ],
    )
    password_confirm = PasswordField(
        "Confirm password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )

    def validate_email(self, field: StringField) -> None:
        try:
            field.data = normalize_email(field.data)
        except ServiceValidationError:
            raise ValidationError("Enter a valid email address.") from None


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_LENGTH),
        ],
    )
    new_password_confirm = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Repeat the new password."),
            EqualTo("new_password", message="The passwords do not match."),
        ],
    )


class ProjectForm(FlaskForm):
    name = StringField("Project name", validators=[DataRequired("Give the project a name.")])
    store_url_template = StringField("Store URL template (optional)")


class NewProjectForm(ProjectForm):
    # One token per form shown: the same form sent twice (a reload of the "created" page)
    # finds the project it made instead of making a second one.
    creation_token = HiddenField()


class RotateSecretForm(FlaskForm):
    revoke_old_now = BooleanField("Revoke the old secret at once (it has leaked)")


class WebhookUrlForm(FlaskForm):
    url = StringField("Webhook URL")


class ResendFailedForm(FlaskForm):
    since = StringField("Failed deliveries created since (WIB)")


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class ForgotPasswordForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email address.")])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_LENGTH),
        ],
    )
    password_confirm = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Repeat the new password."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )


class ButtonForm(FlaskForm):
    """A form that is only a button: the CSRF token is all it carries."""
