"""The OpenAPI document: the 3.0 rendering and the items parameters it describes."""
