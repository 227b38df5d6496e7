from tests.fixtures.facilities import *  # noqa: F403
