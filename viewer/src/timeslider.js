// One time slider for the time-enabled layers that are on: its range is their temporal
// extent, its step an hour (a day past 90 days), and its instant goes to their items
// requests as datetime=. Shown in China Standard Time, as the data are collected.
import { language } from './i18n.js';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
const DAILY_BEYOND_MS = 90 * DAY_MS;

export function timeRange(entries) {
  const intervals = entries.map((entry) => entry.interval).filter(Boolean);
  if (!intervals.length) return null;
  const starts = intervals.map(([start]) => Date.parse(start)).filter(Number.isFinite);
  const ends = intervals.map(([, end]) => Date.parse(end)).filter(Number.isFinite);
  if (!starts.length) return null;
  const start = Math.min(...starts);
  const end = ends.length ? Math.max(...ends) : start;
  return { start, end, step: end - start > DAILY_BEYOND_MS ? DAY_MS : HOUR_MS };
}

export function makeTimeSlider(container, slider, output, onChange) {
  let range = null;
  let timer = null;

  const instant = () => (range ? new Date(range.start + Number(slider.value) * range.step) : null);
  const show = () => {
    const when = instant();
    output.textContent = when ? formatCst(when) : '';
  };

  slider.addEventListener('input', () => {
    show();
    clearTimeout(timer);
    timer = setTimeout(() => onChange(isoOf(instant())), 150);
  });

  return {
    // a new set of time-enabled layers: keep the chosen instant when it is in range
    update(newRange, chosen) {
      range = newRange;
      container.hidden = !range;
      if (!range) return null;
      slider.max = String(Math.floor((range.end - range.start) / range.step));
      const at = chosen ? Date.parse(chosen) : range.start;
      const steps = Math.round((Math.min(Math.max(at, range.start), range.end) - range.start) / range.step);
      slider.value = String(steps);
      show();
      return isoOf(instant());
    },
    refresh: show,
  };
}

export function isoOf(date) {
  return date ? date.toISOString().replace('.000Z', 'Z') : null;
}

function formatCst(date) {
  return new Intl.DateTimeFormat(language() === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(date);
}
