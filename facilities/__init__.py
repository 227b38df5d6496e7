"""Facilities domain: the ice rink and the curling centre, booked safely under a rush."""

from core import web
from core.health import register_check
from core.settings import register
from facilities import api as resident_api
from facilities import (
    cli,
    demo,
    health,
    lottery_pages,
    manager_api,
    pages,
    programme_api,
    programme_pages,
    sandbox_pages,
    staff_pages,
)
from facilities import jobs as _jobs  # noqa: F401  (registers the periodic jobs)
from facilities.services.gates import GATE
from facilities.settings import FacilitySettings

# The local test payment page signs payment callbacks itself: never where money is real.
SANDBOX_ENVIRONMENTS = {"development", "testing"}


def init_app(app, api):
    """Register settings, blueprints, pages, the gate key's security scheme, CLI commands,
    jobs, ready checks and demo data."""
    register(app, FacilitySettings.from_config(app.config))
    register_check(app, "facility_slots", health.slots_ahead, critical=False)
    GATE.document(api)
    api.register_blueprint(resident_api.blp)
    api.register_blueprint(manager_api.blp)
    api.register_blueprint(programme_api.blp)
    app.register_blueprint(pages.blp)
    app.register_blueprint(lottery_pages.blp)
    app.register_blueprint(programme_pages.blp)
    if app.config["APP_ENV"] in SANDBOX_ENVIRONMENTS:
        app.register_blueprint(sandbox_pages.blp)
    web.add_nav(
        app,
        web.NavItem("facilities_pages.facilities", "시설 예약"),
        web.NavItem("facilities_programme_pages.programme_list", "강습"),
        web.NavItem("facilities_pages.my_bookings", "내 예약", signed_in_only=True),
    )
    web.add_home_panel(app, "facilities/home_panel.html", pages.home_panel)
    web.add_messages(pages.MESSAGES)
    app.register_blueprint(staff_pages.blp)
    web.add_field_messages(*staff_pages.FIELD_MESSAGES)
    web.add_staff_section(
        app,
        web.StaffSection(
            "facilities_staff_pages.index",
            "시설 운영",
            roles=(staff_pages.MANAGER,),
            description="회차와 입장 확인, 회차 틀, 휴장, 게이트, 강습, 이용률 보고서",
        ),
    )
    app.cli.add_command(cli.facilities_cli)
    app.extensions.setdefault("demo_seeders", []).append(demo.seed)
