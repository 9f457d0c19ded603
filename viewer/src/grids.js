// Tile grids from the server's own tile matrix sets (/tileMatrixSets, OGC TMS 2.0 JSON):
// the Web Mercator grid and the CGCS2000 (EPSG:4490) grid, built from their definitions
// rather than assumed, so the viewer asks for exactly the tiles the server cuts.
import { addEquivalentProjections, addEquivalentTransforms, get as getProjection } from 'ol/proj';
import Projection from 'ol/proj/Projection';
import { PROJECTIONS as MERCATOR, fromEPSG4326, toEPSG4326 } from 'ol/proj/epsg3857';
import WMTSTileGrid from 'ol/tilegrid/WMTS';

const CGCS2000 = new Projection({
  code: 'EPSG:4490',
  units: 'degrees',
  extent: [-180, -90, 180, 90],
  worldExtent: [-180, -90, 180, 90],
  axisOrientation: 'neu',
  global: true,
});
// CGCS2000 and WGS 84 differ by centimetres, far below a screen pixel: for drawing, the
// viewer treats CGCS2000 longitude/latitude as WGS 84 (the server keeps the exact datum).
addEquivalentProjections([getProjection('EPSG:4326'), CGCS2000]);
addEquivalentTransforms([CGCS2000], MERCATOR, fromEPSG4326, toEPSG4326);

const EPSG = /\/def\/crs\/EPSG\/0\/(\d+)$/;
export const MERCATOR_CODE = 'EPSG:3857';
export const CGCS2000_CODE = 'EPSG:4490';

export function projectionCode(crsUri) {
  const found = EPSG.exec(crsUri || '');
  return found ? `EPSG:${found[1]}` : null;
}

// An OpenLayers tile grid of a TMS 2.0 definition: origins (in x, y order whatever the
// CRS's axis order), cell sizes as resolutions, matrix ids kept for the tile URLs.
export function gridOf(tms) {
  const latFirst = /^(lat|n)/i.test((tms.orderedAxes || [])[0] || '');
  const matrices = [...tms.tileMatrices].sort((a, b) => b.cellSize - a.cellSize);
  const origin = (m) => (latFirst ? [m.pointOfOrigin[1], m.pointOfOrigin[0]] : m.pointOfOrigin);
  const top = matrices[0];
  const [left, upper] = origin(top);
  const extent = [
    left,
    upper - top.matrixHeight * top.tileHeight * top.cellSize,
    left + top.matrixWidth * top.tileWidth * top.cellSize,
    upper,
  ];
  const code = projectionCode(tms.crs);
  return {
    id: tms.id,
    code,
    projection: getProjection(code),
    matrixIds: matrices.map((m) => m.id),
    tileGrid: new WMTSTileGrid({
      extent,
      origins: matrices.map(origin),
      resolutions: matrices.map((m) => m.cellSize),
      matrixIds: matrices.map((m) => m.id),
      sizes: matrices.map((m) => [m.matrixWidth, m.matrixHeight]),
      tileSizes: matrices.map((m) => [m.tileWidth, m.tileHeight]),
    }),
  };
}

// The first listed grid in each CRS the viewer draws: the server lists the standard
// grids (WebMercatorQuad, CGCS2000Quad) before the 天地图 ones.
export async function loadGrids(api) {
  const listed = (await api.json('/tileMatrixSets')).tileMatrixSets;
  const definitions = await Promise.all(
    listed.map((item) => api.json(`/tileMatrixSets/${encodeURIComponent(item.id)}`)),
  );
  const grids = {};
  for (const tms of definitions) {
    const code = projectionCode(tms.crs);
    const usable = [MERCATOR_CODE, CGCS2000_CODE].includes(code);
    if (usable && !grids[code] && tms.tileMatrices.length) grids[code] = gridOf(tms);
  }
  if (!grids[MERCATOR_CODE]) throw new Error('the server lists no Web Mercator tile matrix set');
  return grids;
}

export function gridById(grids, id) {
  return Object.values(grids).find((grid) => grid.id === id);
}
