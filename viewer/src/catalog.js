// The catalog as the viewer needs it, read from /collections (the gate has already left
// out what the caller may not see) and each layer's MapLibre style (its legend).

const LEVELS = ['province', 'city', 'county'];
const STYLESHEET = 'stylesheet';

export async function loadCatalog(api) {
  const document = await api.json('/collections');
  return document.collections.map(entryOf);
}

function entryOf(collection) {
  const layer = collection['onemap:layer'] || {};
  const temporal = collection.extent?.temporal?.interval?.[0];
  const style = (collection.links || []).find(
    (link) => link.rel === STYLESHEET && link.type !== 'text/html',
  );
  return {
    id: collection.id,
    title: { zh: layer.title_zh || collection.title, en: layer.title_en || collection.title },
    raster: collection.itemType !== 'feature',
    level: layer.level || '',
    department: layer.department || {},
    extent: collection.extent?.spatial?.bbox?.[0] || null,
    interval: layer.temporalField && temporal ? temporal : null,
    fields: layer.fields || [],
    geometryType: layer.geometryType || '',
    metadata: layer.metadata || {},
    licence: collection.license || '',
    attribution: collection.attribution || '',
    version: layer.version,
    updated: layer.updated || '',
    styleHref: style ? style.href : null,
    editable: Boolean(layer.editable), // features change one by one: the popup says when
  };
}

// Layers for the base section (the admin boundaries, then any raster such as a DEM's
// hillshade) and the rest by level, then department, in catalog order.
export function arrange(entries, adminIds) {
  const base = [
    ...adminIds.map((id) => entries.find((entry) => entry.id === id)).filter(Boolean),
    ...entries.filter((entry) => entry.raster),
  ];
  // On at first: the province outline, the counties and any raster. The cities stay off
  // (one click away): their labels crowd the counties' at the zooms Guangdong is seen at.
  const defaults = base.filter((entry) => entry.id !== adminIds[1]).map((entry) => entry.id);
  const rest = entries.filter((entry) => !base.includes(entry));
  const levels = [...LEVELS, ...new Set(rest.map((e) => e.level).filter((l) => !LEVELS.includes(l)))];
  const groups = levels
    .map((level) => ({ level, departments: byDepartment(rest.filter((e) => e.level === level)) }))
    .filter((group) => group.departments.length);
  return { base, groups, defaults };
}

function byDepartment(entries) {
  const departments = new Map();
  for (const entry of entries) {
    const key = entry.department.id || '';
    if (!departments.has(key)) departments.set(key, { name: entry.department.name, layers: [] });
    departments.get(key).layers.push(entry);
  }
  return [...departments.values()];
}

// The fill/line/circle paint of a layer's MapLibre style, for the legend and for layers
// the viewer draws itself (time-enabled ones): the server's style, not a second one.
export async function paintOf(api, entry) {
  if (!entry.styleHref) return null;
  const style = await api.json(entry.styleHref);
  const paint = {};
  for (const layer of style.layers || []) {
    if (['fill', 'line', 'circle'].includes(layer.type)) paint[layer.type] = layer.paint || {};
  }
  return paint;
}

export function fieldTitles(entry) {
  return new Map(entry.fields.map((field) => [field.name, field.title || field.name]));
}

export function hasGcj02Caveat(entry) {
  const { gcj02_note: note, positional_accuracy: accuracy } = entry.metadata;
  return Boolean(note) || /gcj-?02/i.test(accuracy || '');
}
