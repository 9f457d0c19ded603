// The map and its layers: which are on, at what opacity, on which grid, at what time —
// the state the URL carries (state.js). The DOM around it is wired in main.js.
import Feature from 'ol/Feature';
import Map from 'ol/Map';
import View from 'ol/View';
import Attribution from 'ol/control/Attribution';
import ScaleLine from 'ol/control/ScaleLine';
import { createEmpty, extend, isEmpty } from 'ol/extent';
import VectorLayer from 'ol/layer/Vector';
import { fromLonLat, toLonLat } from 'ol/proj';
import VectorSource from 'ol/source/Vector';
import { CGCS2000_CODE, MERCATOR_CODE, gridById } from './grids.js';
import {
  highlightStyle,
  itemsSource,
  layerExtent,
  makeLayer,
  mapTileSource,
  olStyleOf,
} from './layers.js';

const SEARCH_ZOOM_METRES = 5; // a searched point is shown at about 5 m a pixel
const TOP = 10_000;

export class Viewer {
  constructor({ api, arranged, grids, target, narrow, onChange, onError }) {
    Object.assign(this, { api, arranged, grids, onChange, onError });
    this.on = new Set();
    this.opacities = new globalThis.Map();
    this.paints = new globalThis.Map();
    this.time = null;
    this.grid = grids[MERCATOR_CODE];
    this.order = drawOrder(arranged);
    this.layers = new globalThis.Map(this.order.map((entry) => [entry.id, makeLayer(entry)]));
    this.order.forEach((entry, index) => this.layers.get(entry.id).setZIndex(index));
    this.highlighted = new VectorSource();
    const highlight = new VectorLayer({ source: this.highlighted, style: highlightStyle(), zIndex: TOP });
    this.attribution = new Attribution({ collapsible: narrow, collapsed: narrow });
    this.map = new Map({
      target,
      controls: [this.attribution, new ScaleLine()],
      layers: [...this.layers.values(), highlight],
      view: this.viewFor(this.grid),
    });
    this.map.on('moveend', () => this.onChange());
  }

  // --- what the URL and the tree read -------------------------------------------------
  view() {
    return this.map.getView();
  }

  projection() {
    return this.grid.projection;
  }

  olLayer(id) {
    return this.layers.get(id);
  }

  isOn(id) {
    return this.on.has(id);
  }

  opacity(id) {
    return this.opacities.get(id) ?? 1;
  }

  visibleEntries() {
    return this.order.filter((entry) => this.on.has(entry.id));
  }

  state() {
    const view = this.view();
    return {
      center: toLonLat(view.getCenter(), this.projection()),
      zoom: view.getZoom(),
      grid: this.grid.id,
      layers: this.order.filter((e) => this.on.has(e.id)).map((e) => e.id),
      time: this.time,
    };
  }

  defaultLayers() {
    return this.arranged.defaults;
  }

  // --- changes ------------------------------------------------------------------------
  setLayers(ids) {
    const wanted = new Set(ids.filter((id) => this.layers.has(id)));
    for (const entry of this.order) this.toggle(entry.id, wanted.has(entry.id), false);
  }

  toggle(id, on, notify = true) {
    const layer = this.layers.get(id);
    if (!layer) return;
    if (on) {
      this.on.add(id);
      if (!layer.getSource()) this.attachSource(this.entry(id));
    } else {
      this.on.delete(id);
    }
    layer.setVisible(on);
    if (notify) this.onChange();
  }

  setOpacity(id, value) {
    this.opacities.set(id, value);
    this.layers.get(id)?.setOpacity(value);
  }

  setTime(instant, notify = true) {
    if (instant === this.time) return;
    this.time = instant;
    for (const entry of this.order) {
      if (entry.interval) this.layers.get(entry.id).getSource()?.refresh();
    }
    if (notify) this.onChange();
  }

  setPaint(id, paint) {
    this.paints.set(id, paint);
    const entry = this.entry(id);
    if (entry.interval && paint) this.layers.get(id).setStyle(olStyleOf(paint));
  }

  // The other grid (Web Mercator ↔ CGCS2000), keeping the centre and the scale.
  otherGrid() {
    const code = this.grid.code === MERCATOR_CODE ? CGCS2000_CODE : MERCATOR_CODE;
    return this.grids[code] || null;
  }

  setGrid(id) {
    const grid = gridById(this.grids, id);
    if (!grid || grid === this.grid) return;
    const view = this.view();
    const centre = toLonLat(view.getCenter(), this.projection());
    const metres = view.getResolution() * this.projection().getMetersPerUnit();
    this.grid = grid;
    this.map.setView(this.viewFor(grid, centre, metres));
    for (const [layerId, layer] of this.layers) {
      if (layer.getSource()) this.attachSource(this.entry(layerId));
    }
    this.highlighted.clear();
    this.onChange();
  }

  goTo(center, zoom) {
    const view = this.view();
    view.setCenter(fromLonLat(center, this.projection()));
    view.setZoom(Math.max(0, Math.min(zoom, view.getResolutions().length - 1)));
  }

  fitCatalog() {
    const extent = createEmpty();
    const shown = this.visibleEntries().length ? this.visibleEntries() : this.order;
    for (const entry of shown) {
      const box = layerExtent(entry, this.grid);
      if (box) extend(extent, box);
    }
    if (!isEmpty(extent)) this.view().fit(extent, { padding: [20, 20, 20, 20] });
  }

  highlight(geometry) {
    this.highlighted.clear();
    if (geometry) this.highlighted.addFeature(new Feature(geometry));
  }

  maxFitZoom() {
    return this.zoomFor(SEARCH_ZOOM_METRES / this.projection().getMetersPerUnit());
  }

  // --- inside -------------------------------------------------------------------------
  entry(id) {
    return this.order.find((entry) => entry.id === id);
  }

  attachSource(entry) {
    const layer = this.layers.get(entry.id);
    layer.setExtent(layerExtent(entry, this.grid));
    if (entry.interval) {
      layer.setSource(itemsSource(entry, this.api, () => this.time, this.onError));
      const paint = this.paints.get(entry.id);
      if (paint) layer.setStyle(olStyleOf(paint));
    } else {
      layer.setSource(mapTileSource(entry, this.grid, this.api));
    }
  }

  viewFor(grid, centre = [113.3, 23.1], metres = null) {
    const resolutions = grid.tileGrid.getResolutions();
    const view = new View({
      projection: grid.projection,
      center: fromLonLat(centre, grid.projection),
      resolutions,
      constrainResolution: true,
      zoom: 0,
    });
    if (metres) view.setZoom(nearestZoom(resolutions, metres / grid.projection.getMetersPerUnit()));
    return view;
  }

  zoomFor(resolution) {
    return nearestZoom(this.view().getResolutions(), resolution);
  }
}

function nearestZoom(resolutions, resolution) {
  let best = 0;
  resolutions.forEach((candidate, index) => {
    if (Math.abs(Math.log(candidate / resolution)) < Math.abs(Math.log(resolutions[best] / resolution))) {
      best = index;
    }
  });
  return best;
}

// Rasters (a DEM's hillshade) at the bottom, then the admin boundaries, the other tiled
// layers in tree order, and the layers drawn from features (time-enabled) on top.
function drawOrder({ base, groups }) {
  const rest = groups.flatMap((group) => group.departments.flatMap((d) => d.layers));
  const all = [...base.filter((e) => e.raster), ...base.filter((e) => !e.raster), ...rest];
  return [...all.filter((e) => !e.interval), ...all.filter((e) => e.interval)];
}
