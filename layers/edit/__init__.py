"""Editing a layer's features in place (ADR 0013): validators, preconditions, the store.

Nothing here knows HTTP frameworks: the router (``ogc.routers.items_write``) parses the
request, repairs the geometry by ingest's rules and calls ``store.apply``.
"""
