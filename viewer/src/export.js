// The current view as a PNG for briefings: every layer's canvas composed into one, at the
// screen's device pixels, with the sources' attribution and the scale bar drawn into the
// picture. The tiles come from this server (the page's own origin), so no canvas is
// tainted and the composition can be read back; should one ever be, the person is told.
import { t } from './i18n.js';

const FONT_PX = 12;
const MARGIN_PX = 8;
const INK = '#1b1f24';
const PAPER = '#fff'; // opaque: the text reads on any map

export function makeExport(map, button, say) {
  button.addEventListener('click', () => {
    button.disabled = true;
    exportView(map)
      .then((blob) => download(blob, fileName(new Date())))
      .catch((error) => say(error.name === 'SecurityError' ? t('exportTainted') : `${t('exportFailed')}${error.message}`))
      .finally(() => {
        button.disabled = false;
      });
  });
}

// Waits for a complete render (every tile loaded), then composes it.
export function exportView(map) {
  return new Promise((resolve, reject) => {
    map.once('rendercomplete', () => {
      try {
        compose(map).toBlob((blob) => (blob ? resolve(blob) : reject(new Error('toBlob'))), 'image/png');
      } catch (error) {
        reject(error);
      }
    });
    map.renderSync();
  });
}

export function fileName(date) {
  const two = (n) => String(n).padStart(2, '0');
  const day = `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}`;
  return `onemap-${day}-${two(date.getHours())}${two(date.getMinutes())}.png`;
}

function compose(map) {
  const ratio = window.devicePixelRatio || 1;
  const [width, height] = map.getSize();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  context.fillStyle = getComputedStyle(map.getTargetElement()).backgroundColor || '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  // Each layer canvas is in device pixels, placed by its CSS transform (which maps it to
  // CSS pixels); opacity is already painted into it (OpenLayers 10).
  for (const layer of map.getViewport().querySelectorAll('.ol-layer canvas, canvas.ol-layer')) {
    if (!layer.width || !layer.height) continue;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const matrix = /^matrix\(([^)]*)\)$/.exec(layer.style.transform);
    if (matrix) context.transform(...matrix[1].split(',').map(Number));
    context.drawImage(layer, 0, 0);
  }
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  const scaleWidth = drawScaleBar(context, map, height);
  drawAttribution(context, map, { width, height, left: scaleWidth });
  return canvas;
}

// The scale bar the map shows (OpenLayers' ScaleLine: its width and its label), so the
// picture's bar is the screen's, computed at the view's centre. Returns the room it took.
function drawScaleBar(context, map, height) {
  const inner = map.getViewport().querySelector('.ol-scale-line-inner');
  const barWidth = inner ? parseFloat(inner.style.width) : 0;
  if (!barWidth) return 0;
  const label = inner.textContent.trim();
  context.font = `${FONT_PX}px system-ui, sans-serif`;
  const boxWidth = Math.max(barWidth, context.measureText(label).width) + 2 * MARGIN_PX;
  const boxHeight = FONT_PX + 16;
  const top = height - MARGIN_PX - boxHeight;
  context.fillStyle = PAPER;
  context.fillRect(MARGIN_PX, top, boxWidth, boxHeight);
  context.fillStyle = INK;
  const left = 2 * MARGIN_PX;
  const bottom = top + boxHeight - 4;
  context.fillRect(left, bottom - 3, barWidth, 3); // the bar
  context.fillRect(left, bottom - 8, 1.5, 8); // its ends
  context.fillRect(left + barWidth - 1.5, bottom - 8, 1.5, 8);
  context.textBaseline = 'top';
  context.fillText(label, left, top + 3);
  return MARGIN_PX + boxWidth;
}

// The sources of the layers drawn (what the attribution control lists) and OneMap, in
// full — a licence may require it — wrapped into the room right of the scale bar.
function drawAttribution(context, map, { width, height, left: taken }) {
  const sources = [...map.getViewport().querySelectorAll('.ol-attribution li')]
    .map((item) => item.textContent.trim())
    .filter(Boolean);
  const credit = sources.length ? [`${t('attribution')}: ${sources.join('; ')}`] : [];
  context.font = `${FONT_PX}px system-ui, "Noto Sans CJK SC", sans-serif`;
  const room = width - taken - 4 * MARGIN_PX; // for the text, inside its box
  const lines = wrap(context, [t('appTitle'), ...credit].join(' · '), room);
  const textWidth = Math.max(...lines.map((line) => context.measureText(line).width));
  const lineHeight = FONT_PX + 4;
  const boxHeight = lines.length * lineHeight + 6;
  const left = width - MARGIN_PX - textWidth - 2 * MARGIN_PX;
  const top = height - MARGIN_PX - boxHeight;
  context.fillStyle = PAPER;
  context.fillRect(left, top, textWidth + 2 * MARGIN_PX, boxHeight);
  context.fillStyle = INK;
  context.textBaseline = 'middle';
  lines.forEach((line, index) => context.fillText(line, left + MARGIN_PX, top + 3 + (index + 0.5) * lineHeight));
}

// Lines no wider than ``room``, broken at a space where there is one (Chinese text
// has none: it may break between any two characters).
function wrap(context, text, room) {
  const lines = [];
  let line = '';
  for (const word of text.split(/(?<=\s)|(?=[\u3000-\u9fff])|(?<=[\u3000-\u9fff])/u)) {
    if (line && context.measureText(line + word).width > room) {
      lines.push(line.trimEnd());
      line = word.trimStart();
    } else {
      line += word;
    }
  }
  return line ? [...lines, line] : lines;
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
