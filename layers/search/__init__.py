"""Place-name and admin-code search over the administrative layers and every searchable
layer (``GET /search``, issue 14).

- ``fields``: which field of a layer is searched (``metadata.search_field``, else a name
  field), and the administrative level a layer's units have.
- ``params``: the request's parameters, validated (400s naming the parameter).
- ``index``: one search table per layer version, built when it is published and swapped
  with it (``SearchIndexes``), like the tile overviews.
- ``execute``: the ranked statement over the caller's searchable layers.
"""
