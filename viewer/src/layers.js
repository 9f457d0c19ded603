// OpenLayers layers for catalog entries: the server's styled PNG map tiles (OGC API –
// Tiles) on the current grid, or, for time-enabled layers, the features of the chosen
// instant (OGC API – Features, datetime=) drawn with the layer's own style.
import GeoJSON from 'ol/format/GeoJSON';
import TileLayer from 'ol/layer/Tile';
import VectorLayer from 'ol/layer/Vector';
import { bbox as bboxStrategy } from 'ol/loadingstrategy';
import { transformExtent } from 'ol/proj';
import TileImage from 'ol/source/TileImage';
import VectorSource from 'ol/source/Vector';
import CircleStyle from 'ol/style/Circle';
import Fill from 'ol/style/Fill';
import Stroke from 'ol/style/Stroke';
import Style from 'ol/style/Style';

const LONLAT = 'EPSG:4326';
const WORLD = [-180, -90, 180, 90];
export const ITEMS_PER_VIEW = 1000; // a time slice of the sample is 40 readings

export function layerExtent(entry, grid) {
  if (!entry.extent) return undefined;
  const [w, s, e, n] = entry.extent;
  const clipped = [Math.max(w, -180), Math.max(s, -85.05), Math.min(e, 180), Math.min(n, 85.05)];
  return transformExtent(clipped, LONLAT, grid.projection);
}

// The map tiles of one layer on one grid; tiles outside the layer's extent are never
// asked for (the server answers them 404: outside the tileset's limits). They are loaded
// through the api, which sends a signed-in person's token with each.
export function mapTileSource(entry, grid, api) {
  const path = `/collections/${encodeURIComponent(entry.id)}/map/tiles/${grid.id}`;
  return new TileImage({
    projection: grid.projection,
    tileGrid: grid.tileGrid,
    attributions: entry.attribution || undefined,
    wrapX: false,
    tileUrlFunction: ([z, x, y]) => api.url(`${path}/${grid.matrixIds[z]}/${y}/${x}`),
    tileLoadFunction: api.loadTile,
  });
}

export function itemsSource(entry, api, instant, onError) {
  const format = new GeoJSON();
  const source = new VectorSource({
    strategy: bboxStrategy,
    attributions: entry.attribution || undefined,
    loader: (extent, resolution, projection, success, failure) => {
      const bbox = clamp(transformExtent(extent, projection, LONLAT));
      const params = { bbox: bbox.map((n) => n.toFixed(6)).join(','), limit: ITEMS_PER_VIEW };
      if (instant()) params.datetime = instant();
      api
        .json(`/collections/${encodeURIComponent(entry.id)}/items`, params)
        .then((collection) => {
          const features = format.readFeatures(collection, { featureProjection: projection });
          source.addFeatures(features);
          success(features);
        })
        .catch((error) => {
          onError(entry, error);
          failure();
        });
    },
  });
  return source;
}

function clamp([w, s, e, n]) {
  return [Math.max(w, WORLD[0]), Math.max(s, WORLD[1]), Math.min(e, WORLD[2]), Math.min(n, WORLD[3])];
}

export function makeLayer(entry) {
  const options = { properties: { id: entry.id }, visible: false };
  return entry.interval ? new VectorLayer(options) : new TileLayer(options);
}

export function rgba(colour, opacity = 1) {
  const hex = /^#([0-9a-f]{6})$/i.exec(colour || '');
  if (!hex) return 'rgba(0,0,0,0.5)'; // the server writes #rrggbb (tiles.styles)
  const n = parseInt(hex[1], 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${opacity})`;
}

// The OpenLayers style of a MapLibre paint (catalog.paintOf): fill, line and circle.
export function olStyleOf(paint) {
  const fill = paint.fill && new Fill({ color: rgba(paint.fill['fill-color'], paint.fill['fill-opacity']) });
  const line = paint.line;
  const stroke =
    line &&
    new Stroke({
      color: rgba(line['line-color'], line['line-opacity'] ?? 1),
      width: line['line-width'] ?? 1,
    });
  const circle = paint.circle;
  const image =
    circle &&
    new CircleStyle({
      radius: circle['circle-radius'] ?? 3,
      fill: new Fill({ color: rgba(circle['circle-color'], circle['circle-opacity'] ?? 1) }),
      stroke: new Stroke({
        color: circle['circle-stroke-color'] || '#ffffff',
        width: circle['circle-stroke-width'] ?? 1,
      }),
    });
  return new Style({ fill, stroke, image });
}

export function highlightStyle() {
  const stroke = new Stroke({ color: '#ffd400', width: 4 });
  const edge = new Stroke({ color: '#b00020', width: 1.5 });
  return [
    new Style({ stroke, image: new CircleStyle({ radius: 9, stroke }) }),
    new Style({ stroke: edge, image: new CircleStyle({ radius: 9, stroke: edge }) }),
  ];
}
