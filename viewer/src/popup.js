// Click a feature: the topmost visible layer with a feature under the pointer answers,
// its attributes listed under the catalog's titles, with a link to the feature's OGC API
// page; the feature is outlined on the map.
import Overlay from 'ol/Overlay';
import { transformExtent } from 'ol/proj';
import { fieldTitles } from './catalog.js';
import { language, localized, t } from './i18n.js';
import { element } from './tree.js';

const HIT_PIXELS = 4; // points and lines are hit within this many pixels of the click

export function makePopup(map, container) {
  const overlay = new Overlay({
    element: container,
    autoPan: { animation: { duration: 200 } },
    positioning: 'bottom-center',
    offset: [0, -10],
  });
  map.addOverlay(overlay);
  const close = () => {
    overlay.setPosition(undefined);
    container.hidden = true;
  };
  const show = (coordinate, children) => {
    const button = element('button', { type: 'button', className: 'close' }, '×');
    button.setAttribute('aria-label', t('close'));
    button.addEventListener('click', close);
    container.replaceChildren(button, ...children);
    container.hidden = false;
    container.dataset.shown = String(Number(container.dataset.shown || 0) + 1); // for tests
    overlay.setPosition(coordinate);
    button.focus({ preventScroll: true });
  };
  container.addEventListener('keydown', (event) => event.key === 'Escape' && close());
  return { show, close };
}

// The features under the pixel of each visible layer, topmost first: drawn ones from
// the map, tiled ones from OGC API – Features with a bbox of a few pixels.
export async function featureAt(map, viewer, event) {
  const candidates = viewer.visibleEntries().filter((entry) => !entry.raster).reverse();
  const answers = await Promise.all(
    candidates.map((entry) => (entry.interval ? drawnAt(map, viewer, entry, event) : askedAt(viewer, entry, event))),
  );
  const index = answers.findIndex(Boolean);
  return index < 0 ? null : { entry: candidates[index], feature: answers[index] };
}

function drawnAt(map, viewer, entry, event) {
  const layer = viewer.olLayer(entry.id);
  const found = map.forEachFeatureAtPixel(event.pixel, (feature) => feature, {
    layerFilter: (candidate) => candidate === layer,
    hitTolerance: HIT_PIXELS,
  });
  if (!found) return null;
  const properties = { ...found.getProperties() };
  delete properties[found.getGeometryName()];
  return { id: found.getId(), properties, geometry: found.getGeometry().clone() };
}

async function askedAt(viewer, entry, event) {
  const half = HIT_PIXELS * viewer.view().getResolution();
  const [x, y] = event.coordinate;
  const box = transformExtent([x - half, y - half, x + half, y + half], viewer.projection(), 'EPSG:4326');
  const collection = await viewer.api.json(`/collections/${encodeURIComponent(entry.id)}/items`, {
    bbox: box.map((n) => n.toFixed(7)).join(','),
    limit: 1,
  });
  const [feature] = collection.features || [];
  return feature ? { id: feature.id, properties: feature.properties || {}, geojson: feature } : null;
}

export function popupContent(viewer, { entry, feature }) {
  const titles = fieldTitles(entry);
  const rows = Object.entries(feature.properties)
    .filter(([, value]) => value !== null && value !== undefined && typeof value !== 'object')
    .map(([name, value]) => {
      const title = titles.get(name) || name;
      const label = language() === 'en' && title !== name ? `${name} (${title})` : title;
      return element('tr', {}, element('th', { scope: 'row' }, label), element('td', {}, String(value)));
    });
  const href = viewer.api.url(
    `/collections/${encodeURIComponent(entry.id)}/items/${encodeURIComponent(feature.id)}`,
    { f: 'html', lang: language() },
  );
  return [
    element('h3', {}, localized(entry.title.zh, entry.title.en)),
    element('table', { className: 'attributes' }, element('tbody', {}, ...rows)),
    ...(entry.editable ? [lastChange(viewer, entry, feature)] : []),
    element('a', { href, target: '_blank', rel: 'noopener' }, t('viewInApi')),
  ];
}

// An editable layer's feature: who changed it last and when, from the newest entry of its
// version history (filled in when it arrives; left empty if it cannot be read).
function lastChange(viewer, entry, feature) {
  const line = element('p', { className: 'last-change' });
  const path = `/collections/${encodeURIComponent(entry.id)}/items/${encodeURIComponent(feature.id)}/versions`;
  viewer.api
    .json(path, { limit: 1 })
    .then(({ features }) => {
      const revision = features?.[0]?.revision;
      if (!revision) return;
      const who = revision.actor.subject || revision.actor.kind;
      const when = new Date(revision.modifiedAt).toLocaleString(language() === 'en' ? 'en-GB' : 'zh-CN');
      line.textContent = `${t('lastChange')}${who} · ${when}`;
      line.dataset.version = String(revision.version); // for tests
    })
    .catch(() => line.remove());
  return line;
}
