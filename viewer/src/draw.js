// Drawing the input of an analysis: one point or one area on the map (OpenLayers' Draw
// interaction), or a point at the map's centre (the keyboard's way). What was drawn is kept
// as lon/lat GeoJSON, so it survives a grid switch (the view's projection changes).
import Feature from 'ol/Feature';
import GeoJSON from 'ol/format/GeoJSON';
import Point from 'ol/geom/Point';
import Draw from 'ol/interaction/Draw';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import CircleStyle from 'ol/style/Circle';
import Fill from 'ol/style/Fill';
import Stroke from 'ol/style/Stroke';
import Style from 'ol/style/Style';

const FORMAT = new GeoJSON();
const LONLAT = 'EPSG:4326';
// The map's click listeners (the feature popup) wait for this map property to be unset.
// It outlives the drawing by more than OpenLayers' 250 ms single-click delay, so the
// click that finished a drawing opens no popup and its double click zooms nothing.
export const TOOL_PROPERTY = 'tool';
const RELEASE_MS = 350;
const Z_INDEX = 10_001; // above the results (10_000 + 0.5) and the search highlight

export function makeDrawing(map, onChange) {
  const source = new VectorSource();
  map.addLayer(new VectorLayer({ source, style: drawnStyle(), zIndex: Z_INDEX }));
  let drawn = null; // GeoJSON geometry, lon/lat
  let draw = null;

  const show = () => {
    source.clear();
    if (drawn) source.addFeature(new Feature(FORMAT.readGeometry(drawn, projected(map))));
  };
  const keep = (geometry) => {
    drawn = FORMAT.writeGeometryObject(geometry, { ...projected(map), decimals: 6 });
    show();
    onChange(drawn);
  };
  const stop = () => {
    if (!draw) return;
    const finished = draw;
    draw = null;
    document.removeEventListener('keydown', escape);
    setTimeout(() => {
      map.removeInteraction(finished);
      if (!draw) map.unset(TOOL_PROPERTY);
    }, RELEASE_MS);
  };
  const escape = (event) => {
    if (event.key !== 'Escape') return;
    draw?.abortDrawing();
    stop();
    onChange(drawn, 'cancelled');
  };
  map.on('change:view', show); // a grid switch: the same place in the new projection

  return {
    // Draw a 'Point' or a 'Polygon' (Esc cancels); replaces what was drawn before.
    start(kind) {
      if (draw) stop();
      draw = new Draw({ type: kind, style: drawnStyle(true) });
      draw.on('drawend', (event) => {
        keep(event.feature.getGeometry());
        stop();
      });
      map.set(TOOL_PROPERTY, 'draw');
      map.addInteraction(draw);
      document.addEventListener('keydown', escape);
    },
    // A point at the map's centre: drawing without a pointer.
    atCentre() {
      keep(new Point(map.getView().getCenter()));
    },
    clear() {
      drawn = null;
      show();
      onChange(null);
    },
    geometry: () => drawn,
  };
}

function projected(map) {
  return { dataProjection: LONLAT, featureProjection: map.getView().getProjection() };
}

// Orange, unlike the layers' styles and the results' purple.
function drawnStyle(sketch = false) {
  const stroke = new Stroke({ color: '#e65100', width: 2.5, lineDash: sketch ? [6, 4] : undefined });
  const fill = new Fill({ color: 'rgba(230, 81, 0, 0.15)' });
  const image = new CircleStyle({
    radius: 7,
    fill: new Fill({ color: '#e65100' }),
    stroke: new Stroke({ color: '#fff', width: 2 }),
  });
  return new Style({ stroke, fill, image });
}
