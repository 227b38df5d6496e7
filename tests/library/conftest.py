from tests.fixtures.library import *  # noqa: F403
