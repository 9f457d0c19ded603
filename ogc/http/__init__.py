"""The HTTP rules of OneMap, framework-free: one implementation each.

``conditional``: weak ETags, If-None-Match and Accept negotiation; ``policy``: what every
response gets (CORS by ``ONEMAP_CORS_ORIGINS``, gzip at ``ONEMAP_GZIP_LEVEL`` + Vary,
Cache-Control of tiles); ``paths``: every URL path template (the routes declare them, the
fast paths match them, links fill them) and the base URL rule. The FastAPI side
(``ogc.http.negotiation``, the CORS middleware of ``ogc.app``) and the raw ASGI fast layer
(``ogc.routers.*_fastpath``) both call these.
"""
