-- What every version of a layer keeps: its table (vector) and its file (raster).
SELECT version, table_name, asset_path FROM onemap.layer_versions
WHERE layer_id = %(layer)s ORDER BY version
