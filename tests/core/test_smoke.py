def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_the_wsgi_module_freezes_the_built_app_out_of_the_garbage_collector(tmp_path):
    # Run in a fresh interpreter: importing wsgi builds the app from the environment.
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.db'}",
        "INSTANCE_DIR": str(tmp_path),
        "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
    }
    script = "import gc, wsgi; print(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(out.stdout.strip().splitlines()[-1]) > 50_000
