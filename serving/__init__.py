"""The vcguard HTTP API (FastAPI): ``serving.app.create_app`` builds it, ``vcguard serve`` runs it."""
