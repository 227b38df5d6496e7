from core import config as config_module
from tests.fixtures.archive_search import *  # noqa: F403

# The PostgreSQL backend's own promises need the suite on PostgreSQL (its other tests run on
# both backends through the fixtures above).
collect_ignore = []
if not config_module.env("TEST_DATABASE_URL").startswith("postgres"):
    collect_ignore.append("test_postgres_search.py")
