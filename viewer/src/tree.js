// The layer tree: the base section, then levels (province, city, county) and departments.
// Each layer: a labelled on/off checkbox, an opacity slider, its legend and its metadata
// (licence, version, updated, source, the GCJ-02 caveat where the metadata gives one).
import { hasGcj02Caveat } from './catalog.js';
import { language, localized, t } from './i18n.js';
import { rgba } from './layers.js';

export function renderTree(container, arranged, state, handlers) {
  container.replaceChildren();
  if (arranged.base.length) container.append(section(t('base'), [list(arranged.base, state, handlers)]));
  for (const group of arranged.groups) {
    const parts = group.departments.flatMap((department) => [
      element('h4', { className: 'department' }, department.name || t('noDepartment')),
      list(department.layers, state, handlers),
    ]);
    container.append(section(t(levelKey(group.level)), parts));
  }
}

function levelKey(level) {
  return ['province', 'city', 'county'].includes(level) ? level : 'otherLevel';
}

function section(title, children) {
  return element('section', { className: 'group' }, element('h3', {}, title), ...children);
}

function list(entries, state, handlers) {
  return element('ul', { className: 'layers' }, ...entries.map((e) => item(e, state, handlers)));
}

function item(entry, state, handlers) {
  const title = localized(entry.title.zh, entry.title.en);
  const checkbox = element('input', { type: 'checkbox', checked: state.isOn(entry.id) });
  checkbox.addEventListener('change', () => handlers.toggle(entry.id, checkbox.checked));
  const opacity = element('input', {
    type: 'range',
    min: '0',
    max: '100',
    value: String(Math.round(state.opacity(entry.id) * 100)),
    className: 'opacity',
  });
  opacity.setAttribute('aria-label', `${t('opacity')}: ${title}`);
  opacity.addEventListener('input', () => handlers.opacity(entry.id, Number(opacity.value) / 100));
  const label = element(
    'label',
    { className: 'layer-name' },
    checkbox,
    element('span', { className: 'swatch', 'data-legend': entry.id }),
    element('span', {}, title),
    ...(entry.interval ? [element('small', { className: 'badge' }, t('timeEnabled'))] : []),
    ...(entry.raster ? [element('small', { className: 'badge' }, t('raster'))] : []),
  );
  return element(
    'li',
    { className: 'layer', 'data-layer-id': entry.id },
    label,
    opacity,
    details(entry),
  );
}

function details(entry) {
  const rows = [
    [t('department'), entry.department.name],
    [t('licence'), entry.licence],
    [t('version'), entry.version],
    [t('updated'), entry.updated ? new Date(entry.updated).toLocaleString(localeOf()) : ''],
    [t('attribution'), entry.attribution],
  ].filter(([, value]) => value !== undefined && value !== null && value !== '');
  const list = element(
    'dl',
    {},
    ...rows.flatMap(([name, value]) => [element('dt', {}, name), element('dd', {}, String(value))]),
  );
  const caveat = hasGcj02Caveat(entry) ? [element('p', { className: 'caveat' }, t('gcj02'))] : [];
  return element('details', {}, element('summary', {}, t('details')), list, ...caveat);
}

export function localeOf() {
  return language() === 'en' ? 'en-GB' : 'zh-CN';
}

// A small SVG of the layer's paint: a filled square, a line or a dot.
export function showLegend(container, entryId, paint) {
  const swatch = container.querySelector(`[data-legend="${CSS.escape(entryId)}"]`);
  if (!swatch || !paint) return;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = legendShape(paint);
  swatch.replaceChildren(svg);
}

function legendShape({ fill, line, circle }) {
  if (circle) {
    const colour = rgba(circle['circle-color'], circle['circle-opacity'] ?? 1);
    const edge = circle['circle-stroke-color'] || '#ffffff';
    return `<circle cx="8" cy="8" r="5" fill="${colour}" stroke="${edge}" stroke-width="1"/>`;
  }
  const stroke = line ? rgba(line['line-color'], line['line-opacity'] ?? 1) : 'none';
  if (fill) {
    const colour = rgba(fill['fill-color'], fill['fill-opacity'] ?? 1);
    return `<rect x="2" y="2" width="12" height="12" fill="${colour}" stroke="${stroke}"/>`;
  }
  return `<path d="M1 12 L6 5 L10 10 L15 3" fill="none" stroke="${stroke}" stroke-width="2"/>`;
}

export function element(tag, properties, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name.startsWith('data-') || name.startsWith('aria-')) node.setAttribute(name, value);
    else node[name] = value;
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}
