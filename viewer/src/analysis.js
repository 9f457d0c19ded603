// The 分析 / Analyse panel: choose an analysis, draw its point or area, run it as an OGC
// API – Processes job (asynchronous ones report their progress), draw the result and offer
// it as a GeoJSON file. Errors are the server's own message, framed in the page's language.
import { containsExtent, isEmpty } from 'ol/extent';
import { ANALYSES, layersFor } from './analyses.js';
import { makeDrawing } from './draw.js';
import { localized, t } from './i18n.js';
import { processIds, runProcess } from './jobs.js';
import { downloadable, featureOutputs, makeResultLayer } from './results.js';
import { element } from './tree.js';

export async function makeAnalysisPanel({ viewer, api, entries, panel, button }) {
  const offered = await processIds(api);
  const analyses = ANALYSES.filter((analysis) => offered.has(analysis.id));
  if (!analyses.length) return; // this server offers none of them: no button
  button.hidden = false;
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) panel.querySelector('select').focus();
  });
  const ui = build(panel);
  const state = { analysis: analyses[0], job: null, error: null, results: null, controller: null };
  const results = makeResultLayer(viewer.map);
  const drawing = makeDrawing(viewer.map, (geometry, why) => {
    ui.where.textContent = why === 'cancelled' && !geometry ? t('drawCancelled') : describe(geometry);
    ui.run.disabled = !geometry;
  });

  const choose = (analysis) => {
    state.analysis = analysis;
    ui.drawArea.hidden = !analysis.draws.includes('Polygon');
    if (drawing.geometry() && !analysis.draws.includes(drawing.geometry().type)) drawing.clear();
    renderParameters(ui.parameters, analysis, layersFor(analysis, entries));
    ui.hint.textContent = t(analysis.draws.length > 1 ? 'drawPointOrArea' : 'drawPoint');
  };
  const render = () => {
    ui.process.replaceChildren(
      ...analyses.map((a) => element('option', { value: a.id, selected: a === state.analysis }, t(a.label))),
    );
    choose(state.analysis);
    ui.where.textContent = describe(drawing.geometry());
    showJob(ui, state.job);
    ui.error.textContent = state.error ? `${t('analysisFailed')}${state.error}` : '';
    showResults(ui, state);
  };

  ui.process.addEventListener('change', () => choose(analyses.find((a) => a.id === ui.process.value)));
  ui.drawPoint.addEventListener('click', () => drawing.start('Point'));
  ui.drawArea.addEventListener('click', () => drawing.start('Polygon'));
  ui.centre.addEventListener('click', () => drawing.atCentre());
  ui.clear.addEventListener('click', () => drawing.clear());
  ui.clearResult.addEventListener('click', () => {
    state.results = null;
    results.clear();
    render();
  });
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(viewer, api, state, ui, results, drawing.geometry(), render);
  });
  // A language switch (i18n.js sets <html lang>): the panel's own texts follow.
  new MutationObserver(render).observe(document.documentElement, { attributeFilter: ['lang'] });
  render();
}

async function run(viewer, api, state, ui, results, geometry, render) {
  if (!geometry) return;
  state.controller?.abort(); // a new run: stop following the previous job
  const controller = new AbortController();
  Object.assign(state, { controller, job: null, error: null, results: null });
  delete ui.result.dataset.drawn;
  results.clear();
  const analysis = state.analysis;
  const inputs = analysis.inputs({ geometry, ...readParameters(ui.parameters) });
  ui.run.disabled = true;
  render();
  try {
    const outcome = await runProcess(api, analysis.id, inputs, {
      async: analysis.async,
      signal: controller.signal,
      onStatus: (job) => {
        state.job = job;
        showJob(ui, job);
      },
    });
    Object.assign(state, { results: outcome.results, jobId: outcome.jobId, processId: analysis.id });
    viewer.map.once('rendercomplete', () => {
      ui.result.dataset.drawn = outcome.jobId; // for people and tests: the result is on the map
    });
    fitIfOutside(viewer, results.show(outcome.results), ui.form.parentElement);
  } catch (error) {
    if (error.name === 'AbortError') return;
    state.error = error.message;
  } finally {
    if (state.controller === controller) ui.run.disabled = false;
  }
  render();
}

// The result shown whole: the view moves only when part of it is outside (clear of the panel).
function fitIfOutside(viewer, extent, panel) {
  const view = viewer.view();
  if (isEmpty(extent) || containsExtent(view.calculateExtent(), extent)) return;
  const box = panel.getBoundingClientRect();
  const beside = box.width < viewer.map.getTargetElement().clientWidth / 2; // else a phone's sheet
  const padding = beside ? [40, 40 + box.width, 40, 40] : [40, 40, 40 + box.height, 40];
  view.fit(extent, { padding, maxZoom: viewer.maxFitZoom(), duration: 300 });
}

// --- the panel's parts ------------------------------------------------------------------
function build(panel) {
  const button = (id, label) => element('button', { id, type: 'button', 'data-i18n': label }, t(label));
  const ui = {
    process: element('select', { id: 'analysis-process' }),
    hint: element('p', { className: 'hint', id: 'analysis-hint' }),
    drawPoint: button('analysis-draw-point', 'drawPointButton'),
    drawArea: button('analysis-draw-area', 'drawAreaButton'),
    centre: button('analysis-centre', 'mapCentre'),
    clear: button('analysis-clear', 'clearDrawing'),
    where: element('p', { id: 'analysis-where', 'aria-live': 'polite' }),
    parameters: element('div', { className: 'parameters' }),
    run: element(
      'button',
      { id: 'analysis-run', type: 'submit', disabled: true, 'data-i18n': 'runAnalysis' },
      t('runAnalysis'),
    ),
    progress: element('progress', {
      id: 'analysis-progress',
      max: 100,
      value: 0,
      'aria-label': t('jobProgress'),
      'data-i18n-label': 'jobProgress',
    }),
    status: element('output', { id: 'analysis-status', 'aria-live': 'polite' }),
    error: element('p', { id: 'analysis-error', className: 'error', role: 'alert' }),
    summary: element('ul', { id: 'analysis-summary' }),
    download: element('a', { id: 'analysis-download', className: 'button' }),
    clearResult: button('analysis-clear-result', 'clearResult'),
  };
  ui.job = element('div', { className: 'job', hidden: true }, ui.progress, ui.status);
  ui.result = element('div', { className: 'result', hidden: true }, ui.summary, ui.download, ui.clearResult);
  ui.form = element(
    'form',
    {},
    element('label', { htmlFor: 'analysis-process', 'data-i18n': 'analysisMethod' }, t('analysisMethod')),
    ui.process,
    ui.hint,
    element('div', { className: 'draw-buttons' }, ui.drawPoint, ui.drawArea, ui.centre, ui.clear),
    ui.where,
    ui.parameters,
    ui.run,
    ui.job,
    ui.error,
    ui.result,
  );
  panel.append(ui.form);
  return ui;
}

function renderParameters(container, analysis, layers) {
  const chosen = container.querySelector('select')?.value;
  const none = element('option', { value: '', selected: chosen === '' }, t('noLayer'));
  const layer = element(
    'select',
    { id: 'analysis-layer', name: 'layer' },
    ...layers.map((entry) =>
      element(
        'option',
        { value: entry.id, selected: entry.id === chosen },
        localized(entry.title.zh, entry.title.en),
      ),
    ),
    analysis.layer.optional ? none : null, // last: the first layer is the default
  );
  const fields = analysis.params.map((param) => {
    const id = `analysis-${param.name}`;
    const previous = container.querySelector(`#${id}`)?.value;
    const input = element('input', {
      id,
      name: param.name,
      type: param.type,
      value: previous ?? param.value,
      ...(param.min ? { min: param.min } : {}),
      ...(param.max ? { max: param.max } : {}),
    });
    return [element('label', { htmlFor: id }, t(param.label)), input];
  });
  container.replaceChildren(
    element('label', { htmlFor: 'analysis-layer' }, t(analysis.layer.label)),
    layer,
    ...fields.flat(),
  );
}

function readParameters(container) {
  const values = {};
  for (const input of container.querySelectorAll('input')) values[input.name] = input.value;
  return { layer: container.querySelector('select')?.value || null, values };
}

function showJob(ui, job) {
  ui.job.hidden = !job;
  if (!job) return;
  ui.progress.value = job.progress ?? 0;
  ui.status.textContent = `${t(`job-${job.status}`)} · ${job.progress ?? 0}%`;
  ui.status.dataset.status = job.status; // for tests and styles
}

function showResults(ui, state) {
  ui.result.hidden = !state.results;
  if (!state.results) return;
  ui.summary.replaceChildren(
    ...featureOutputs(state.results).map(([id, collection]) =>
      element('li', {}, `${t(`output-${id}`)}${t('colon')}${collection.features.length}`),
    ),
    ...nearestLines(state.results.nearest),
  );
  URL.revokeObjectURL(ui.download.href);
  ui.download.href = URL.createObjectURL(downloadable(state.processId, state.jobId, state.results));
  ui.download.download = `onemap-${state.processId}-${(state.jobId || 'result').slice(0, 8)}.geojson`;
  ui.download.textContent = t('downloadGeojson');
}

function nearestLines(collection) {
  return (collection?.features || []).map((feature) => {
    const p = feature.properties || {};
    const line = `${p.rank}. ${p.name ?? p.fid ?? ''} — ${distance(p.distance_m)}`;
    return element('li', { className: 'nearest' }, line);
  });
}

function distance(metres) {
  if (typeof metres !== 'number') return '';
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(1)} km`;
}

function describe(geometry) {
  if (!geometry) return t('nothingDrawn');
  if (geometry.type === 'Point') {
    const [lon, lat] = geometry.coordinates;
    return `${t('drawnPoint')}${lon.toFixed(5)}, ${lat.toFixed(5)}`;
  }
  const vertices = geometry.coordinates[0].length - 1;
  return `${t('drawnArea')}${vertices} ${t('vertices')}`;
}
