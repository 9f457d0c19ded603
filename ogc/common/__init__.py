"""Helpers shared by several routers (routers never import each other)."""
