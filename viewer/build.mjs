// Bundles the viewer (src/) with OpenLayers into the Python package's static folder,
// where ogc/routers/viewer.py serves it. Deterministic: the same sources and the same
// package-lock.json give the same bytes (no timestamps, no absolute paths).
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'ogc', 'html', 'static', 'viewer');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { viewer: join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: out,
  legalComments: 'eof', // OpenLayers' licence travels with the bundle
  logLevel: 'warning',
  loader: { '.css': 'css' },
});
await copyFile(join(here, 'src', 'index.html'), join(out, 'index.html'));
