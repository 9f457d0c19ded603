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
export function makeMeasure(map, elements) {
  return new MeasureTool(map, elements);
}

class MeasureTool {
  constructor(map, { distance, area, clear, finish, readout }) {
    Object.assign(this, { map, finish, readout, buttons: { distance, area } });
    this.source = new VectorSource();
    this.layer = new VectorLayer({
      source: this.source,
      style: finishedStyle(() => this.projection()),
      zIndex: ABOVE_HIGHLIGHT,
    });
    map.addLayer(this.layer);
    this.draw = null;
    this.sketch = null;
    for (const [kind, button] of Object.entries(this.buttons)) {
      button.addEventListener('click', () => (this.kind === kind ? this.stop() : this.start(kind)));
    }
    finish.addEventListener('click', () => this.draw?.finishDrawing());
    clear.addEventListener('click', () => this.clear());
    document.addEventListener('keydown', (event) => this.onKey(event));
    this.followGridSwitch();
    // The readout and the labels follow the language (setLanguage writes <html lang>).
    new MutationObserver(() => this.remeasure()).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ['lang'],
    });
  }

  projection() {
    return this.map.getView().getProjection();
  }

  start(kind) {
    this.stop();
    const draw = new Draw({ source: this.source, type: KINDS[kind], style: sketchStyle() });
    draw.on('drawstart', (event) => {
      this.sketch = event.feature.getGeometry();
      this.sketch.on('change', () => this.show(this.sketch));
      this.finish.hidden = false;
    });
    const ended = (shown) => {
      this.sketch = null;
      this.finish.hidden = true;
      this.show(shown);
    };
    // drawend comes before the feature is added to the source
    draw.on('drawend', (event) => ended(event.feature.getGeometry()));
    draw.on('drawabort', () => ended(this.lastFinished()));
    this.map.addInteraction(draw);
    this.map.set('tool', 'measure');
    Object.assign(this, { draw, kind });
    this.buttons[kind].setAttribute('aria-pressed', 'true');
  }

  stop() {
    if (this.draw) this.map.removeInteraction(this.draw);
    Object.assign(this, { draw: null, sketch: null, kind: null });
    this.finish.hidden = true;
    this.map.unset('tool');
    for (const button of Object.values(this.buttons)) button.setAttribute('aria-pressed', 'false');
  }

  // Esc drops the line being drawn, or, with none, puts the tool away.
  cancel() {
    if (this.sketch) this.draw.abortDrawing();
    else this.stop();
  }

  clear() {
    if (this.sketch) this.draw.abortDrawing();
    this.source.clear();
    this.show(null);
  }

  onKey(event) {
    if (!this.draw || takesKey(event.target, event.key)) return;
    if (event.key === 'Escape') this.cancel();
    else if (event.key === 'Enter' && this.sketch) this.draw.finishDrawing();
    else if (event.key === 'Backspace' && this.sketch) this.draw.removeLastPoint();
  }

  show(geometry) {
    const { readout } = this;
    readout.hidden = !geometry;
    if (!geometry) {
      readout.textContent = '';
      return;
    }
    const value = measureOf(geometry, this.projection());
    readout.textContent = formatMeasure(value, geometry.getType());
    readout.dataset.value = String(value); // for tests: the figure before rounding
  }

  lastFinished() {
    return this.source.getFeatures().at(-1)?.getGeometry() || null;
  }

  remeasure() {
    this.show(this.sketch || this.lastFinished());
    this.layer.changed();
  }

  // The grid switch replaces the view (and its projection): the finished figures move
  // with it and are measured again; a half-drawn sketch, in the old coordinates, is dropped.
  followGridSwitch() {
    let shown = this.projection();
    this.map.on('change:view', () => {
      const next = this.projection();
      if (next !== shown) {
        for (const feature of this.source.getFeatures()) feature.getGeometry().transform(shown, next);
      }
      shown = next;
      if (this.sketch) this.draw.abortDrawing();
      this.remeasure();
    });
  }
}

// Keys a focused control handles itself: all of them in a text field, Enter and Space
// on a button (they press it).
function takesKey(target, key) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return true;
  return target.tagName === 'BUTTON' && (key === 'Enter' || key === ' ');
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
