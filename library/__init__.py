"""Library domain: unmanned smart-library kiosks (lending, returns, holds, fleet)."""

from core import web
from core.health import register_check
from core.settings import register
from library import api as resident_api
from library import cli, demo, health, kiosk_api, pages, staff_api, staff_pages
from library import jobs as _jobs  # noqa: F401  (registers the periodic jobs)
from library.services.kiosks import KIOSK
from library.settings import LibrarySettings, Sip2Settings, pin_passwords


def init_app(app, api):
    """Register settings, blueprints (JSON and pages), the kiosk key's security scheme, CLI
    commands, jobs, ready checks, demo data, and the pages' menu, home panel and messages."""
    register(app, LibrarySettings.from_config(app.config, pin_passwords(app.config)))
    register(app, Sip2Settings.from_config(app.config))
    KIOSK.document(api)
    api.register_blueprint(resident_api.blp)
    api.register_blueprint(staff_api.blp)
    api.register_blueprint(kiosk_api.blp)
    app.register_blueprint(pages.blp)
    web.add_nav(
        app,
        web.NavItem("library_pages.search", "도서관"),
        web.NavItem("library_pages.me", "내 도서", signed_in_only=True),
    )
    web.add_home_panel(app, "library/home_panel.html", pages.home_panel)
    web.add_messages(pages.MESSAGES)
    app.register_blueprint(staff_pages.blp)
    web.add_staff_section(
        app,
        web.StaffSection(
            "library_staff_pages.fleet",
            "스마트도서관",
            roles=staff_pages.STAFF,
            description="키오스크 현황과 칸 관리, 예약대출 작업, 채움 계획, 충돌 처리, 연체, "
            "이용자 조회, 자료 등록",
        ),
    )
    web.add_field_messages(*staff_pages.FIELD_MESSAGES)
    app.cli.add_command(cli.library_cli)
    register_check(app, "library_kiosks", health.fleet_check, critical=False)
    app.extensions.setdefault("demo_seeders", []).append(demo.seed_demo)
