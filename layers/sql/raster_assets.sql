SELECT asset_path FROM onemap.layer_versions WHERE asset_path IS NOT NULL
