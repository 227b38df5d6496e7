"""Accounts as pages: home, register, log in and out, the profile. The same use cases as the
JSON API's (``core.api``), the same schemas, limits and tokens."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from core import services
from core.auth import current_token
from core.clock import now
from core.schemas import ProfileSchema, RegisterSchema, TokenRequestSchema
from core.settings import settings_of
from core.web import (
    Form,
    PageBlueprint,
    attempt,
    end_session,
    login_required,
    read_form,
    refusal_form,
    refusal_status,
    safe_next,
    signed_in_user,
    start_session,
)

blp = PageBlueprint("web", __name__, static_folder="static", static_url_path="/static")

_register_schema = RegisterSchema()
_login_schema = TokenRequestSchema()
_profile_schema = ProfileSchema()


@blp.get("/")
def home():
    panels = [
        (template, context()) for template, context in current_app.extensions.get("home_panels", [])
    ]
    return render_template("core/home.html", panels=panels)


def _sign_in(email: str, password: str):
    """Log in as the API does (same limits, same token) and keep the token in the session."""
    issued, error = attempt(
        services.issue_token,
        email=email,
        password=password,
        address=request.remote_addr or "?",
        now=now(),
        settings=settings_of(services.AccountSettings),
        guard=settings_of(services.LoginGuard),
    )
    if issued is not None:
        start_session(issued[0])
    return error


@blp.route("/login", methods=["GET", "POST"])
def login():
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("core/login.html", form=Form.empty(), next=next_path)
    data, form = read_form(_login_schema)
    form.values.pop("password", None)  # never sent back into the page
    status = 422
    if data is not None:
        error = _sign_in(data["email"], data["password"])
        if error is None:
            return redirect(next_path)
        form, status = refusal_form(form, error), refusal_status(error)
    return render_template("core/login.html", form=form, next=next_path), status


@blp.route("/register", methods=["GET", "POST"])
def register():
    if request.method == "GET":
        return render_template("core/register.html", form=Form.empty())
    data, form = read_form(_register_schema)
    form.values.pop("password", None)
    if data is not None:
        address = request.remote_addr or "?"
        user, error = attempt(
            services.register,
            address=address,
            now=now(),
            settings=settings_of(services.AccountSettings),
            guard=settings_of(services.LoginGuard),
            **data,
        )
        if user is not None:  # signed in at once, in the registration's own transaction
            raw, _ = services.token_for_new_account(
                user, now=now(), settings=settings_of(services.AccountSettings)
            )
            start_session(raw)
            return redirect(url_for("web.home"))
        form = refusal_form(form, error)
    return render_template("core/register.html", form=form), 422


@blp.post("/logout")
def logout():
    user = signed_in_user()
    if user is not None:
        services.revoke_token(current_token(), now())
    end_session()
    return redirect(url_for("web.home"))


# The optional notifications, as the profile page names them.
NOTIFICATION_LABELS = {
    "booking_receipts": "시설 예약 접수·확정·취소 안내",
    "library_reminders": "도서 반납일 알림 (반납 전날과 당일)",
}


@blp.route("/profile", methods=["GET", "POST"])
@login_required()
def profile():
    user = signed_in_user()
    if request.method == "GET":
        form = Form.empty(name=user.name, phone=user.phone or "")
        return _profile_page(form, user)
    data, form = read_form(_profile_schema)
    if data is None:
        return _profile_page(form, user), 422
    data.setdefault("phone", None)  # a blank phone removes it
    # The page asks which to receive; the account keeps which are turned off.
    received = set(request.form.getlist("receive"))
    data["notifications_off"] = [group for group in NOTIFICATION_LABELS if group not in received]
    services.update_profile(user, now=now(), **data)
    return _profile_page(form, user, saved=True)


def _profile_page(form: Form, user, saved: bool = False) -> str:
    off = set(user.notifications_off or ())
    choices = [(group, label, group not in off) for group, label in NOTIFICATION_LABELS.items()]
    return render_template("core/profile.html", form=form, user=user, saved=saved, choices=choices)
