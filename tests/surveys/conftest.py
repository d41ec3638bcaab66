"""Survey tests use the web tests' app client (a fresh SQLite database with the demo users)."""

from tests.web.conftest import app_client

__all__ = ["app_client"]
