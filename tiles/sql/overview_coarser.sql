-- One overview level from the next finer one: each cell of level %(level)s keeps one of the
-- features its four finer cells kept, so no cell with data is ever left empty.
INSERT INTO {overview} (z, fid, geom{names})
SELECT %(level)s, t.fid, t.geom{columns}
FROM (
    SELECT min(fid) AS fid
    FROM (SELECT t.fid, {cell_key} AS cell FROM {overview} AS t WHERE t.z = %(level)s + 1) AS c
    GROUP BY cell
) AS kept
JOIN {overview} AS t ON t.fid = kept.fid AND t.z = %(level)s + 1
