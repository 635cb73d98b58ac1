"""The participant portal and REST API (FastAPI, Jinja2, htmx): ``create_app(settings)``."""
