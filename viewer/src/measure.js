// Measuring distance and area on the map, geodesically: lengths and areas are computed on
// the sphere (ol/sphere) from longitude/latitude, whatever the grid the map is drawn on, so
// Web Mercator's stretch (×1.09 at Guangdong's latitude) never enters a figure.
import Point from 'ol/geom/Point';
import Draw from 'ol/interaction/Draw';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import { getArea, getLength } from 'ol/sphere';
import CircleStyle from 'ol/style/Circle';
import Fill from 'ol/style/Fill';
import Stroke from 'ol/style/Stroke';
import Style from 'ol/style/Style';
import Text from 'ol/style/Text';
import { language, t } from './i18n.js';

const KINDS = { distance: 'LineString', area: 'Polygon' };
const ABOVE_HIGHLIGHT = 10_001; // over the layers and the search/click outline
const HECTARE = 10_000;
const SQUARE_KILOMETRE = 1_000_000;

// The figure of a geometry in metres (a line) or square metres (a polygon).
export function measureOf(geometry, projection) {
  return geometry.getType() === 'Polygon'
    ? getArea(geometry, { projection })
    : getLength(geometry, { projection });
}

// A figure as people read it: m / km for lengths; m², hectares, km² for areas.
export function formatMeasure(value, type) {
  const number = (n, digits) =>
    new Intl.NumberFormat(language() === 'zh' ? 'zh-CN' : 'en', {
      maximumFractionDigits: digits,
    }).format(n);
  if (type !== 'Polygon') {
    return value < 1000 ? `${number(value, 0)} m` : `${number(value / 1000, value < 100_000 ? 2 : 1)} km`;
  }
  if (value < HECTARE) return `${number(value, 0)} m²`;
  if (value < SQUARE_KILOMETRE) return `${number(value / HECTARE, 2)} ${t('hectares')}`;
  return `${number(value / SQUARE_KILOMETRE, value < 100 * SQUARE_KILOMETRE ? 2 : 1)} km²`;
}

// Wires the tool buttons to the map. While a tool is on, the map's `tool` property says
// so, and a click draws instead of asking for the feature there (main.js).
export function makeMeasure(map, { distance, area, clear, finish, readout }) {
  const source = new VectorSource();
  const projection = () => map.getView().getProjection();
  const layer = new VectorLayer({ source, style: finishedStyle(projection), zIndex: ABOVE_HIGHLIGHT });
  map.addLayer(layer);
  const buttons = { distance, area };
  let draw = null;
  let sketch = null;

  const show = (geometry) => {
    if (!geometry) {
      readout.hidden = true;
      readout.textContent = '';
      return;
    }
    const value = measureOf(geometry, projection());
    readout.textContent = formatMeasure(value, geometry.getType());
    readout.dataset.value = String(value); // for tests: the figure before rounding
    readout.dataset.kind = geometry.getType() === 'Polygon' ? 'area' : 'distance';
    readout.hidden = false;
  };
  const lastFinished = () => source.getFeatures().at(-1)?.getGeometry() || null;

  const stop = () => {
    if (draw) map.removeInteraction(draw);
    draw = null;
    sketch = null;
    finish.hidden = true;
    map.unset('tool');
    for (const button of Object.values(buttons)) button.setAttribute('aria-pressed', 'false');
  };

  const start = (kind) => {
    stop();
    draw = new Draw({ source, type: KINDS[kind], style: sketchStyle() });
    draw.on('drawstart', (event) => {
      sketch = event.feature.getGeometry();
      sketch.on('change', () => show(sketch));
      finish.hidden = false;
    });
    draw.on('drawend', (event) => {
      sketch = null;
      finish.hidden = true;
      show(event.feature.getGeometry());
    });
    draw.on('drawabort', () => {
      sketch = null;
      finish.hidden = true;
      show(lastFinished());
    });
    map.addInteraction(draw);
    map.set('tool', 'measure');
    buttons[kind].setAttribute('aria-pressed', 'true');
  };

  // Esc drops the line being drawn, or, with none, puts the tool away.
  const cancel = () => {
    if (sketch) draw.abortDrawing();
    else stop();
  };

  for (const [kind, button] of Object.entries(buttons)) {
    button.addEventListener('click', () =>
      button.getAttribute('aria-pressed') === 'true' ? stop() : start(kind),
    );
  }
  finish.addEventListener('click', () => draw?.finishDrawing());
  clear.addEventListener('click', () => {
    if (sketch) draw.abortDrawing();
    source.clear();
    show(null);
  });
  document.addEventListener('keydown', (event) => {
    if (!draw || isTyping(event.target)) return;
    if (event.key === 'Escape') cancel();
    else if (event.key === 'Enter' && sketch) draw.finishDrawing();
    else if (event.key === 'Backspace' && sketch) draw.removeLastPoint();
  });
  const remeasure = () => {
    show(sketch || lastFinished());
    layer.changed();
  };
  keepOnGridSwitch(map, source, { abortSketch: () => sketch && draw.abortDrawing(), remeasure });
  // The readout and the labels follow the language (setLanguage writes <html lang>).
  new MutationObserver(remeasure).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ['lang'],
  });
  return { active: () => Boolean(draw), cancel, stop };
}

// The grid switch replaces the view (and its projection): the finished figures move with
// it and are measured again; a half-drawn sketch, in the old coordinates, is dropped.
function keepOnGridSwitch(map, source, { abortSketch, remeasure }) {
  let shown = map.getView().getProjection();
  map.on('change:view', () => {
    const next = map.getView().getProjection();
    if (next !== shown) {
      for (const feature of source.getFeatures()) feature.getGeometry().transform(shown, next);
    }
    shown = next;
    abortSketch();
    remeasure();
  });
}

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

const INK = '#b00020';

function sketchStyle() {
  const stroke = new Stroke({ color: INK, width: 2, lineDash: [8, 6] });
  return new Style({
    stroke,
    fill: new Fill({ color: 'rgba(176, 0, 32, 0.12)' }),
    image: new CircleStyle({ radius: 6, stroke: new Stroke({ color: INK, width: 2 }), fill: new Fill({ color: '#fff' }) }),
  });
}

// A finished figure: its outline and its measure written beside it.
function finishedStyle(projection) {
  const line = new Style({
    stroke: new Stroke({ color: INK, width: 3 }),
    fill: new Fill({ color: 'rgba(176, 0, 32, 0.15)' }),
  });
  return (feature) => {
    const geometry = feature.getGeometry();
    const polygon = geometry.getType() === 'Polygon';
    const label = new Style({
      geometry: polygon ? geometry.getInteriorPoint() : endOf(geometry),
      text: new Text({
        text: formatMeasure(measureOf(geometry, projection()), geometry.getType()),
        font: 'bold 13px system-ui, sans-serif',
        fill: new Fill({ color: '#1b1f24' }),
        backgroundFill: new Fill({ color: 'rgba(255, 255, 255, 0.9)' }),
        padding: [2, 4, 2, 4],
        offsetY: polygon ? 0 : -14,
      }),
    });
    return [line, label];
  };
}

function endOf(line) {
  return new Point(line.getLastCoordinate());
}
