from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length


class SignupForm(FlaskForm):
    username = StringField("Username", [InputRequired(), Length(3, 32)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    display_name = StringField("Display name", [InputRequired(), Length(1, 64)])
    email = EmailField("Email", [InputRequired(), Email(check_deliverability=False),
                                 Length(max=254)])
    password = PasswordField("Password", [InputRequired(), Length(8, 128)],
                             render_kw={"autocomplete": "new-password"})


class LoginForm(FlaskForm):
    username = StringField("Username", [InputRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("Password", [InputRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})


class ProfileForm(FlaskForm):
    display_name = StringField("Display name", [InputRequired(), Length(1, 64)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", [InputRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", [InputRequired(), Length(8, 128)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password",
                            [InputRequired(), EqualTo("new_password", "The two passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
