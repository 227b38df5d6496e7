"""gunicorn reads this file from the directory it starts in (make run, tests, benchmarks)."""

from core import server

# Close a finished connection without waiting for the client, unless unread bytes are waiting.
server.install()
