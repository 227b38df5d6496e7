"""The local setup remembers what `make run` chose, and a server without a secret says so in
one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _environment(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in config.DEFAULTS}
    env["INSTANCE_DIR"] = str(instance)
    env["JOBS_DB_PATH"] = str(instance / "jobs.db")
    env["DATABASE_URL"] = f"sqlite:///{instance / 'happyhub.db'}"
    return env


def _jobs_status(instance: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "status"],
        cwd=PROJECT_ROOT,
        env=_environment(instance),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_secret_outside_development_is_one_clear_line(tmp_path):
    run = _jobs_status(tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("happyhub: SECRET_KEY is not set (APP_ENV=production)")


def test_commands_run_with_the_settings_make_run_wrote(tmp_path):
    # The Makefile's own rule, run in an empty folder: it writes instance/settings.env there.
    written = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(tmp_path),
            "-f",
            str(PROJECT_ROOT / "Makefile"),
            "instance/settings.env",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert written.returncode == 0, written.stderr
    instance = tmp_path / "instance"
    settings = (instance / "settings.env").read_text()
    assert "APP_ENV=development" in settings
    secret = next(line for line in settings.splitlines() if line.startswith("SECRET_KEY="))
    assert len(secret) > len("SECRET_KEY=") + 30
    # The local test payment page signs its callbacks with a key of its own.
    signing = next(
        line for line in settings.splitlines() if line.startswith("PAYMENT_CALLBACK_SECRET=")
    )
    assert len(signing) > len("PAYMENT_CALLBACK_SECRET=") + 30
    assert oct((instance / "settings.env").stat().st_mode & 0o777) == "0o600"
    run = _jobs_status(instance)
    assert run.returncode == 0, run.stderr
    assert "backend" in json.loads(run.stdout)
