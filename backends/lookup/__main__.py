"""`python -m backends.lookup [--transport stdio|http|sse] [--port N]`."""

from backends._serve import main
from backends.lookup.server import create_server

main("lookup", create_server)
