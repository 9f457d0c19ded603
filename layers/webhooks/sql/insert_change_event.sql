-- One change of a layer, with the layer's access as it is in this transaction (who may be told).
INSERT INTO onemap.change_events (layer_id, type, data, access_level, department_id)
SELECT id, %(type)s, %(data)s, access_level, department_id
FROM onemap.layers WHERE id = %(layer)s
