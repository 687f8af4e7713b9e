"""The HTTP side of the workflow engine: REST, WebSocket and the web shell, on Litestar.

``create_app(settings)`` builds the application; ``workflow serve`` runs it
under uvicorn.
"""

from api.app import create_app

__all__ = ["create_app"]
