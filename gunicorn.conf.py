"""gunicorn reads this file from the directory it starts in (make run, tests, benchmarks)."""

from core import server

# Close a finished connection without waiting for the client, unless unread bytes are waiting;
# refusals gunicorn makes itself speak the API's JSON error shape.
server.install()

# The longest request line gunicorn allows: a 500-character Korean search query takes about
# 4,500 bytes once percent-encoded, past gunicorn's default of 4,094.
limit_request_line = 8190
