"""Who is calling and what they may see: callers, access rules, keys, quotas, audit.

The web layer identifies a request's caller (``ogc/gate``) and asks the rules here; the
rules are plain functions of a layer and a caller, so every path asks the same question.
"""
