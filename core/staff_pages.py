"""The staff console's frame (``/staff/``): its start page lists the sections a person's
roles open. Each domain adds its own sections (``core.web.add_staff_section``) and pages, which
extend ``staff/layout.html`` and check their roles themselves; residents get the 403 page."""

from __future__ import annotations

from flask import render_template

from core.roles import STAFF_ROLES
from core.web import PageBlueprint, signed_in_user, staff_page, staff_sections_for

blp = PageBlueprint("staff", __name__, url_prefix="/staff")


@blp.get("/")
@staff_page(*STAFF_ROLES)
def index():
    return render_template("staff/index.html", sections=staff_sections_for(signed_in_user()))
