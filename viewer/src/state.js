// The view lives in the URL's fragment, so a view can be shared and a reload restores it:
// #c=lon,lat&z=zoom&g=grid&l=layer,layer&t=instant&lang=en. The query string is left to
// the server (tk=, lang=).

const NUMBER = /^-?\d+(\.\d+)?$/;

export function readState(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const state = {};
  const centre = (params.get('c') || '').split(',');
  if (centre.length === 2 && centre.every((part) => NUMBER.test(part))) {
    const [lon, lat] = centre.map(Number);
    if (Math.abs(lon) <= 180 && Math.abs(lat) <= 90) state.center = [lon, lat];
  }
  const zoom = params.get('z');
  if (zoom && NUMBER.test(zoom)) state.zoom = Number(zoom);
  if (params.get('g')) state.grid = params.get('g');
  if (params.has('l')) state.layers = params.get('l').split(',').filter(Boolean);
  if (params.get('t') && !Number.isNaN(Date.parse(params.get('t')))) state.time = params.get('t');
  if (['zh', 'en'].includes(params.get('lang'))) state.lang = params.get('lang');
  return state;
}

export function formatState({ center, zoom, grid, layers, time, lang }) {
  const parts = [
    `c=${center.map((n) => n.toFixed(5)).join(',')}`,
    `z=${Math.round(zoom * 100) / 100}`,
    `g=${encodeURIComponent(grid)}`,
    `l=${layers.map(encodeURIComponent).join(',')}`,
  ];
  if (time) parts.push(`t=${encodeURIComponent(time)}`);
  if (lang) parts.push(`lang=${lang}`);
  return `#${parts.join('&')}`;
}
