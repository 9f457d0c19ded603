// An analysis result on the map and as a file: the features outputs of the job's results
// document, drawn in one purple style no layer uses, and offered as one GeoJSON file.
import GeoJSON from 'ol/format/GeoJSON';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import CircleStyle from 'ol/style/Circle';
import Fill from 'ol/style/Fill';
import Stroke from 'ol/style/Stroke';
import Style from 'ol/style/Style';
import Text from 'ol/style/Text';

const FORMAT = new GeoJSON();
const LONLAT = 'EPSG:4326';
export const OUTPUT_PROPERTY = 'onemap:output'; // which output a downloaded feature is from
const PURPLE = '#7b1fa2';

// The features outputs of a results document (output id → FeatureCollection), in order.
export function featureOutputs(results) {
  return Object.entries(results).filter(
    ([, value]) => value && value.type === 'FeatureCollection' && Array.isArray(value.features),
  );
}

export function makeResultLayer(map) {
  const source = new VectorSource();
  map.addLayer(new VectorLayer({ source, style: resultStyle, zIndex: 10_000.5 }));
  let shown = null;
  const draw = () => {
    source.clear();
    if (!shown) return;
    const options = { dataProjection: LONLAT, featureProjection: map.getView().getProjection() };
    for (const [output, collection] of featureOutputs(shown)) {
      const features = FORMAT.readFeatures(collection, options);
      // ids are per output ("0", "1"…); a source keeps one feature per id
      features.forEach((feature, index) => feature.setId(`${output}/${index}`));
      source.addFeatures(features);
    }
  };
  map.on('change:view', draw); // a grid switch
  return {
    show(results) {
      shown = results;
      draw();
      return source.getExtent();
    },
    clear() {
      shown = null;
      draw();
    },
    count: () => source.getFeatures().length,
  };
}

// One FeatureCollection of every features output, each feature marked with its output id;
// the values outputs (counts and the like) and the job travel as foreign members.
export function downloadable(processId, jobId, results) {
  const outputs = featureOutputs(results);
  const features = outputs.flatMap(([id, collection]) =>
    collection.features.map((feature) => ({
      ...feature,
      properties: { ...(feature.properties || {}), [OUTPUT_PROPERTY]: id },
    })),
  );
  const values = Object.fromEntries(
    Object.entries(results).filter(([id]) => !outputs.some(([featuresId]) => featuresId === id)),
  );
  const crs = outputs.find(([, collection]) => collection.crs)?.[1].crs;
  const document = { type: 'FeatureCollection', name: processId, 'onemap:job': jobId };
  if (crs) document.crs = crs;
  if (Object.keys(values).length) document['onemap:values'] = values;
  return new Blob([JSON.stringify({ ...document, features })], { type: 'application/geo+json' });
}

// Points over lines over areas, whatever order the outputs come in; a rank is written in
// its point (nearest facilities).
const STACKING = { Point: 2, MultiPoint: 2, LineString: 1, MultiLineString: 1 };
const STROKE = new Stroke({ color: PURPLE, width: 2.5 });
const FILL = new Fill({ color: 'rgba(123, 31, 162, 0.18)' });
const DISC = new CircleStyle({
  radius: 9,
  fill: new Fill({ color: PURPLE }),
  stroke: new Stroke({ color: '#fff', width: 2 }),
});
const WHITE = new Fill({ color: '#fff' });
const RANK_FONT = 'bold 11px sans-serif';

function resultStyle(feature) {
  const rank = feature.get('rank');
  return new Style({
    zIndex: STACKING[feature.getGeometry()?.getType()] ?? 0,
    stroke: STROKE,
    fill: FILL,
    image: DISC,
    text: rank === undefined ? undefined : new Text({ text: String(rank), font: RANK_FONT, fill: WHITE }),
  });
}
