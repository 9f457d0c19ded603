-- A layer version's time can be an interval held in two columns (start and end): the
-- start stays in temporal_field, the end goes here. NULL: an instant (or no time).
ALTER TABLE onemap.layer_versions ADD COLUMN temporal_end_field text;
