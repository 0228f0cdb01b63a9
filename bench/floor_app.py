"""What the benchmark's gunicorn serves: the portal plus the floor route (bench/floor.py)."""

from flask import Flask

from bench.floor import add_floor_route
from portal import create_app


def build_app() -> Flask:
    """The portal, configured from the environment, with the floor route added."""
    return add_floor_route(create_app())


app = build_app()
