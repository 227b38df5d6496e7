from tests.fixtures.archive_search import *  # noqa: F403
