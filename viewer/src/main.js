// Boots the viewer: reads the page's settings, finishes or restores a sign-in, loads the
// catalog and the grids from the server (as the signed-in person may see them), builds the
// map and wires the controls. Nothing is fetched from anywhere else but the identity
// provider's token endpoint.
import 'ol/ol.css';
import GeoJSON from 'ol/format/GeoJSON';
import './style.css';
import { startSession, wireAccount } from './account.js';
import { makeApi } from './api.js';
import { makeExport } from './export.js';
import { arrange, loadCatalog, paintOf } from './catalog.js';
import { MERCATOR_CODE, gridById, loadGrids } from './grids.js';
import { setLanguage, language, t } from './i18n.js';
import { makeMeasure } from './measure.js';
import { featureAt, makePopup, popupContent } from './popup.js';
import { makeSearch } from './search.js';
import { formatState, readState } from './state.js';
import { makeTimeSlider, timeRange } from './timeslider.js';
import { renderTree, showLegend } from './tree.js';
import { Viewer } from './viewer.js';

const root = document.getElementById('onemap-viewer');
const $ = (selector) => root.querySelector(selector);
const NARROW = window.matchMedia('(max-width: 700px)');
const GEOJSON = new GeoJSON();

function say(message) {
  $('#status').textContent = message;
}

async function boot() {
  const config = root.dataset;
  setLanguage(readState(window.location.hash).lang || config.lang);
  // First: a sign-in coming back puts the page's own URL (view, key) back in place.
  const { session, message } = await startSession(config, say);
  const api = makeApi(config.base, new URLSearchParams(window.location.search).get('tk'), session);
  const initial = readState(window.location.hash);
  setLanguage(initial.lang || config.lang);
  say(message());
  const account = wireAccount(session, root, say);
  const [entries, grids] = await Promise.all([loadCatalog(api), loadGrids(api)]);
  const arranged = arrange(entries, (config.adminLayers || '').split(',').filter(Boolean));
  let ready = false; // no URL updates while the first state is applied
  const viewer = new Viewer({
    api,
    arranged,
    grids,
    target: $('#map'),
    narrow: NARROW.matches,
    onChange: () => ready && syncUrl(viewer),
    onError: (entry, error) => say(`${t('loadFailed')}${entry.id}: ${error.message}`),
  });
  const time = makeTimeSlider($('#time'), $('#time-slider'), $('#time-value'), (instant) =>
    viewer.setTime(instant),
  );
  const fitTime = (chosen) =>
    viewer.setTime(time.update(timeRange(viewer.visibleEntries()), chosen), false);
  // The style of layers drawn here before they are drawn: no second render for it.
  await loadLegends(viewer, api, entries.filter((entry) => entry.interval));
  const tree = treeRenderer(viewer, arranged, () => {
    fitTime(viewer.time);
    syncUrl(viewer);
  });
  const apply = (state) => {
    if (state.grid && gridById(grids, state.grid)) viewer.setGrid(state.grid);
    viewer.setLayers(state.layers || viewer.defaultLayers());
    fitTime(state.time);
    if (state.center && state.zoom !== undefined) viewer.goTo(state.center, state.zoom);
    else viewer.fitCatalog();
    tree();
  };
  apply(initial);
  wireControls(viewer, { tree, refreshTime: time.refresh, account });
  wireClicks(viewer);
  wireTools(viewer);
  makeSearch(viewer, $('#search'), $('#search-results'), $('#status'));
  window.addEventListener('hashchange', () => {
    const state = readState(window.location.hash);
    if (state.lang) setLanguage(state.lang);
    apply(state);
  });
  ready = true;
  syncUrl(viewer);
  markRenders(viewer);
  await loadLegends(viewer, api, entries.filter((entry) => !entry.interval));
  root.dataset.legends = 'loaded'; // for tests: nothing more is fetched unasked
}

// The layer tree, drawn again on a language change; its legends are kept.
function treeRenderer(viewer, arranged, afterToggle) {
  return () => {
    renderTree($('#layer-tree'), arranged, viewer, {
      toggle: (id, on) => {
        viewer.toggle(id, on);
        afterToggle();
      },
      opacity: (id, value) => viewer.setOpacity(id, value),
    });
    for (const [id, paint] of viewer.paints) showLegend($('#layer-tree'), id, paint);
  };
}

function syncUrl(viewer) {
  const hash = formatState({ ...viewer.state(), lang: language() });
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${hash}`);
}

function wireControls(viewer, { tree, refreshTime, account }) {
  const zoomBy = (delta) => {
    const view = viewer.view();
    view.animate({ zoom: view.getZoom() + delta, duration: 200 });
  };
  $('#zoom-in').addEventListener('click', () => zoomBy(1));
  $('#zoom-out').addEventListener('click', () => zoomBy(-1));
  const gridButton = $('#grid');
  const showGrid = () => {
    const mercator = viewer.grid.code === MERCATOR_CODE;
    gridButton.textContent = t(mercator ? 'gridMercator' : 'gridCgcs2000');
    gridButton.setAttribute('aria-pressed', String(!mercator));
    gridButton.disabled = !viewer.otherGrid();
  };
  gridButton.addEventListener('click', () => {
    const other = viewer.otherGrid();
    if (other) viewer.setGrid(other.id);
    showGrid();
  });
  $('#language').addEventListener('click', () => {
    setLanguage(language() === 'zh' ? 'en' : 'zh');
    tree();
    showGrid();
    refreshTime();
    account();
    syncUrl(viewer);
  });
  const panel = $('#panel');
  const panelButton = $('#panel-toggle');
  panelButton.addEventListener('click', () => {
    const open = panel.classList.toggle('open');
    panelButton.setAttribute('aria-expanded', String(open));
  });
  window.addEventListener('hashchange', showGrid);
  showGrid();
}

function wireClicks(viewer) {
  const popup = makePopup(viewer.map, $('#popup'));
  viewer.map.on('singleclick', (event) => {
    if (viewer.map.get('tool')) return; // a click of a drawing tool (measure.js), not a question
    showFeatureAt(viewer, popup, event).catch((error) => say(`${t('loadFailed')}${error.message}`));
  });
}

// Measuring and PNG export: their own modules, wired to the buttons under the zoom.
function wireTools(viewer) {
  makeMeasure(viewer.map, {
    distance: $('#measure-distance'),
    area: $('#measure-area'),
    clear: $('#measure-clear'),
    finish: $('#measure-finish'),
    readout: $('#measure-value'),
  });
  makeExport(viewer.map, $('#export-png'), say);
}

async function showFeatureAt(viewer, popup, event) {
  const hit = await featureAt(viewer.map, viewer, event);
  if (!hit) {
    viewer.highlight(null);
    popup.show(event.coordinate, [document.createTextNode(t('noFeature'))]);
    return;
  }
  const { geometry, geojson } = hit.feature;
  const read = () =>
    GEOJSON.readGeometry(geojson.geometry, { featureProjection: viewer.projection() });
  viewer.highlight(geometry || (geojson?.geometry ? read() : null));
  popup.show(event.coordinate, popupContent(viewer, hit));
}

// For people and tests: when the first map was complete, and how many renders finished.
function markRenders(viewer) {
  let renders = 0;
  viewer.map.on('rendercomplete', () => {
    renders += 1;
    if (!root.dataset.firstMapMs) root.dataset.firstMapMs = String(Math.round(performance.now()));
    root.dataset.renders = String(renders);
  });
}

async function loadLegends(viewer, api, entries) {
  await Promise.all(
    entries.map(async (entry) => {
      try {
        const paint = await paintOf(api, entry);
        viewer.setPaint(entry.id, paint);
        showLegend($('#layer-tree'), entry.id, paint);
      } catch (error) {
        say(`${t('loadFailed')}${entry.id}: ${error.message}`);
      }
    }),
  );
}

boot().catch((error) => say(`${t('loadFailed')}${error.message}`));
