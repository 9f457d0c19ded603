"""Serving the app: ``onemap serve`` start-up and the HTTP server it runs."""
