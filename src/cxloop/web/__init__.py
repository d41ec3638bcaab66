"""The web app: middleware, i18n, templates, the dashboard pages and their static files."""
