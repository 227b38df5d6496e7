from tests.fixtures.archive import *  # noqa: F403
