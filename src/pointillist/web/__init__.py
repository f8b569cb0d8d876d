"""pointillist.web: the FastAPI records API (``create_app``)."""

from pointillist.web.app import create_app

__all__ = ["create_app"]
