// The analyses the public viewer offers, as the server's processes (spatial/analyses):
// which geometry each is drawn with, which layer it needs, its few parameters, and how
// they become the process's inputs. Only those the server lists are shown.

const POINTS = /point/i;
const LINES = /line/i;

export const ANALYSES = [
  {
    id: 'nearest-facilities',
    label: 'nearestFacilities',
    draws: ['Point'],
    async: false, // a KNN query: answers at once
    layer: { label: 'facilitiesLayer', fits: POINTS },
    params: [{ name: 'k', label: 'howMany', type: 'number', value: '5', min: '1', max: '100' }],
    inputs: ({ geometry, layer, values }) => ({
      location: geometry.coordinates,
      facilities: { collection: layer },
      k: Number(values.k),
    }),
  },
  {
    id: 'affected-area',
    label: 'affectedArea',
    draws: ['Point', 'Polygon'],
    async: true,
    layer: { label: 'listedLayer', fits: POINTS, optional: true },
    params: [{ name: 'radius', label: 'radiusM', type: 'number', value: '2000', min: '0' }],
    inputs: ({ geometry, layer, values }) => ({
      incident: geometry,
      // an area stands for itself (a flood extent) unless a radius widens it
      radius_m: geometry.type === 'Point' || Number(values.radius) > 0 ? Number(values.radius) : null,
      layers: layer ? [{ collection: layer }] : [],
    }),
  },
  {
    id: 'service-area',
    label: 'driveTime',
    draws: ['Point'],
    async: true, // builds the road network on first use (pgRouting)
    layer: { label: 'roadsLayer', fits: LINES },
    params: [{ name: 'minutes', label: 'minutesBands', type: 'text', value: '10, 20, 30' }],
    inputs: ({ geometry, layer, values }) => ({
      location: geometry.coordinates,
      roads: { collection: layer },
      minutes: numbers(values.minutes),
    }),
  },
];

// "10, 20、30" → [10, 20, 30]; what is not a number is sent as null for the server to name.
function numbers(text) {
  return text
    .split(/[\s,，、;；]+/)
    .filter(Boolean)
    .map((part) => (Number.isFinite(Number(part)) ? Number(part) : null));
}

// Vector layers (not time-enabled ones) of the geometry an analysis needs, in catalog order.
export function layersFor(analysis, entries) {
  return entries.filter(
    (entry) => !entry.raster && !entry.interval && analysis.layer.fits.test(entry.geometryType),
  );
}
