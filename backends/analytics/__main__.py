"""`python -m backends.analytics [--transport stdio|http|sse] [--port N]`."""

from backends._serve import main
from backends.analytics.server import create_server

main("analytics", create_server)
