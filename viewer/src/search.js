// Search as on 天地图: suggestions from GET /search as the user types (place names,
// 6- or 9-digit administrative codes); choosing one zooms to its bbox and outlines the
// feature (its OGC API item, f=json). A combobox operable with the keyboard alone.
import GeoJSON from 'ol/format/GeoJSON';
import { transformExtent } from 'ol/proj';
import { t } from './i18n.js';
import { element } from './tree.js';

const DEBOUNCE_MS = 200;
const SUGGESTIONS = 8;

export function makeSearch(viewer, input, listbox, status) {
  let timer = null;
  let controller = null;
  let results = [];
  let active = -1;

  const close = () => {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const render = () => {
    listbox.replaceChildren(
      ...results.map((feature, index) => {
        const p = feature.properties;
        const option = element(
          'li',
          { id: `search-option-${index}`, role: 'option', 'aria-selected': String(index === active) },
          element('span', { className: 'name' }, p.name),
          element('small', {}, [p.collectionTitle, p.adcode].filter(Boolean).join(' · ')),
        );
        option.addEventListener('mousedown', (event) => {
          event.preventDefault(); // keep the focus in the input
          choose(index);
        });
        return option;
      }),
    );
    listbox.hidden = results.length === 0;
    input.setAttribute('aria-expanded', String(results.length > 0));
    if (active >= 0) input.setAttribute('aria-activedescendant', `search-option-${active}`);
  };

  const suggest = async (q) => {
    controller?.abort();
    controller = new AbortController();
    try {
      const found = await viewer.api.json('/search', { q, limit: SUGGESTIONS }, {
        signal: controller.signal,
      });
      results = found.features || [];
      active = -1;
      status.textContent = results.length ? '' : t('searchNone');
      render();
    } catch (error) {
      if (error.name === 'AbortError') return;
      results = [];
      close();
      status.textContent = `${t('searchUnavailable')}: ${error.message}`;
    }
  };

  const choose = async (index) => {
    const feature = results[index];
    if (!feature) return;
    input.value = feature.properties.name;
    close();
    try {
      await zoomTo(viewer, feature);
    } catch (error) {
      status.textContent = `${t('loadFailed')}${error.message}`;
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      results = [];
      close();
      return;
    }
    timer = setTimeout(() => suggest(q), DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!results.length) return;
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      active = (active + step + results.length) % results.length;
      render();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      choose(active >= 0 ? active : 0);
    } else if (event.key === 'Escape') {
      close();
    }
  });
  input.addEventListener('blur', close);
}

async function zoomTo(viewer, feature) {
  const box = feature.bbox || feature.geometry?.coordinates?.concat(feature.geometry.coordinates);
  if (box) {
    const extent = transformExtent(box, 'EPSG:4326', viewer.projection());
    viewer.view().fit(extent, { padding: [40, 40, 40, 40], maxZoom: viewer.maxFitZoom(), duration: 300 });
  }
  const href = feature.properties.href;
  if (!href) return;
  const item = await viewer.api.json(href, { f: 'json' });
  const geometry = new GeoJSON().readGeometry(item.geometry, { featureProjection: viewer.projection() });
  viewer.highlight(geometry);
}
