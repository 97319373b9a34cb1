"""`python -m backends.datagen [--transport stdio|http|sse] [--port N]`."""

from backends._serve import main
from backends.datagen.server import create_server

main("datagen", create_server)
