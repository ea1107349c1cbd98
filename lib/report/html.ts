/**
 * The HTML report: one self-contained file (inline CSS, inline script, SVG; nothing is fetched) that stays
 * readable for 100,000 backups. The page ships the report model as JSON and draws lazily: per target a summary
 * rendered here, the resources as collapsed rows added 50 at a time, and a resource's timeline and table only
 * when it is opened.
 *
 * Escaping: every string that can come from upstream or a policy (names, tags, ids, reasons, target names)
 * goes through `escapeHtml` when rendered here, and the embedded JSON is made safe for a <script> element
 * (`safeJson`: no `<`, `>`, `&`, U+2028 or U+2029 survive unescaped). The script only ever sets text with
 * `textContent` and attributes with `setAttribute`; it never builds HTML from data.
 */
import { createHash } from 'node:crypto';
import { formatBytes } from '../retention/plan-targets.ts';
import type { ReportModel, TargetReport } from './model.ts';
import { PAGE_SCRIPT } from './page-script.ts';
import { PAGE_STYLE } from './page-style.ts';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] as string);
}

/** JSON that can sit inside <script type="application/json"> whatever its strings contain. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The page's only script, allowed by hash: an injected inline handler or <script> could not run. */
const SCRIPT_HASH = createHash('sha256').update(PAGE_SCRIPT).digest('base64');

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

function reclaimText(target: TargetReport): string {
  if (target.deleted === 0) return 'nothing';
  if (target.bytes_to_reclaim === null) return 'unknown (upstream reports no sizes)';
  const known = formatBytes(target.bytes_to_reclaim);
  return target.bytes_unknown > 0 ? `≥ ${known} (${target.bytes_unknown} without a size)` : known;
}

function shareBar(target: TargetReport): string {
  const share = Math.min(1, Math.max(0, target.delete_share));
  const limit = Math.min(1, Math.max(0, target.max_delete_share));
  const state = target.max_delete_share_exceeded ? 'over' : 'under';
  const label =
    `delete share ${percent(share)} of finished and failed backups; breaker at ${percent(limit)}` +
    `${target.max_delete_share_default ? ' (default)' : ''}${target.max_delete_share_exceeded ? ': EXCEEDED, the sweep refuses this target' : ''}`;
  return (
    `<div class="share ${state}" role="img" aria-label="${escapeHtml(label)}">` +
    `<svg viewBox="0 0 200 14" preserveAspectRatio="none" aria-hidden="true"><rect class="track" x="0" y="3" width="200" height="8" rx="4"/>` +
    `<rect class="fill" x="0" y="3" width="${(share * 200).toFixed(1)}" height="8" rx="4"/>` +
    `<line class="breaker" x1="${(limit * 200).toFixed(1)}" x2="${(limit * 200).toFixed(1)}" y1="0" y2="14"/></svg>` +
    `<span>${escapeHtml(label)}</span></div>`
  );
}

function classChips(model: ReportModel, counts: Record<string, number>): string {
  return model.classes
    .filter((markClass) => (counts[markClass.id] ?? 0) > 0)
    .map(
      (markClass) =>
        `<span class="chip"><svg class="sw" viewBox="0 0 12 12" aria-hidden="true">${swatch(markClass.shape, markClass.color)}</svg>` +
        `${escapeHtml(markClass.label)} <b>${counts[markClass.id]}</b></span>`,
    )
    .join('');
}

/** A legend swatch; the page script draws the same shapes on the timelines. */
function swatch(shape: string, color: string): string {
  const c = escapeHtml(color);
  switch (shape) {
    case 'ring':
      return `<circle cx="6" cy="6" r="4" fill="#fff" stroke="${c}" stroke-width="2"/>`;
    case 'cross':
      return `<path d="M2 2L10 10M2 10L10 2" stroke="${c}" stroke-width="2.2"/>`;
    case 'diamond':
      return `<path d="M6 1L11 6L6 11L1 6Z" fill="${c}"/>`;
    case 'triangle':
      return `<path d="M6 1L11 10H1Z" fill="${c}"/>`;
    case 'square':
      return `<rect x="2" y="2" width="8" height="8" fill="${c}"/>`;
    default:
      return `<circle cx="6" cy="6" r="4.5" fill="${c}"/>`;
  }
}

function simulationChart(target: TargetReport, timezone: string): string {
  const simulation = target.simulation;
  if (simulation === undefined) return '';
  const series = simulation.total_by_day;
  const width = 720;
  const height = 100;
  const left = 48;
  const bottom = 24;
  const top = 10;
  const max = Math.max(1, ...series);
  const x = (day: number) => left + (day / Math.max(1, series.length - 1)) * (width - left - 10);
  const y = (points: number) => top + (1 - points / max) * (height - top - bottom);
  const line = series.map((points, day) => `${x(day).toFixed(1)},${y(points).toFixed(1)}`).join(' ');
  const ticks = [0, Math.round(simulation.days / 2), simulation.days]
    .map(
      (day) =>
        `<text x="${x(day).toFixed(1)}" y="${height - 6}" text-anchor="${day === simulation.days ? 'end' : day === 0 ? 'start' : 'middle'}">day ${day}</text>`,
    )
    .join('');
  const first = series[0] ?? 0;
  const last = series[series.length - 1] ?? 0;
  const label = `Restore points of target ${target.name} over the next ${simulation.days} days: ${first} after today's sweep, ${last} on day ${simulation.days} (peak ${max}).`;
  return (
    `<figure class="sim"><figcaption>Simulated restore points over ${simulation.days} days (sweeps daily in ${escapeHtml(timezone)})</figcaption>` +
    `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}">` +
    `<line class="axis" x1="${left}" x2="${width - 10}" y1="${height - bottom}" y2="${height - bottom}"/>` +
    `<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}"/>` +
    `<text x="${left - 6}" y="${top + 8}" text-anchor="end">${max}</text><text x="${left - 6}" y="${height - bottom}" text-anchor="end">0</text>` +
    `<polyline class="series" points="${line}"/>${ticks}</svg></figure>`
  );
}

function targetSection(model: ReportModel, target: TargetReport, index: number): string {
  const resources = target.resources.length;
  const facts: [string, string][] = [
    ['listed', String(target.listed)],
    ['in scope', String(target.considered)],
    ['resources', String(resources)],
    ['kept', String(target.kept)],
    [model.kind === 'plan' ? 'to delete' : 'planned deletions', String(target.deleted)],
    ['bytes to reclaim', reclaimText(target)],
  ];
  return (
    `<section class="target" id="target-${index}" aria-labelledby="target-${index}-h">` +
    `<h2 id="target-${index}-h">${escapeHtml(target.name)} <small>${escapeHtml(target.service)}</small></h2>` +
    `<dl class="facts">${facts.map(([term, value]) => `<div><dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd></div>`).join('')}</dl>` +
    shareBar(target) +
    `<div class="chips">${classChips(model, target.counts)}</div>` +
    simulationChart(target, model.timezone) +
    `<div class="resources" data-target="${index}">` +
    `<div class="toolbar"><label>Show <select class="filter" aria-label="Which resources of ${escapeHtml(target.name)}">` +
    '<option value="all">all resources</option><option value="deletes">with deletions</option>' +
    '<option value="guard">where max_gap keeps backups</option><option value="held">with protected or skipped backups</option>' +
    `</select></label><label>Find <input class="find" type="search" placeholder="resource id, name or backup id" aria-label="Find a resource of ${escapeHtml(target.name)}"></label>` +
    '<span class="shown" aria-live="polite"></span></div>' +
    '<div class="rows"></div><button type="button" class="more" hidden>Show more resources</button></div>' +
    '</section>'
  );
}

export function renderReportHtml(model: ReportModel): string {
  const legend = model.classes
    .map(
      (markClass) =>
        `<li><svg class="sw" viewBox="0 0 12 12" aria-hidden="true">${swatch(markClass.shape, markClass.color)}</svg>${escapeHtml(markClass.label)}</li>`,
    )
    .join('');
  const totals = model.targets.reduce(
    (sum, target) => ({
      backups: sum.backups + target.considered,
      deleted: sum.deleted + target.deleted,
      resources: sum.resources + target.resources.length,
    }),
    { backups: 0, deleted: 0, resources: 0 },
  );
  const nav = model.targets
    .map(
      (target, index) =>
        `<a href="#target-${index}">${escapeHtml(target.name)}<span>${target.deleted} ${model.kind === 'plan' ? 'to delete' : 'planned'} of ${target.considered}</span></a>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'">
<title>${escapeHtml(model.title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(model.title)}</h1>
<p class="meta">${escapeHtml(model.kind === 'plan' ? 'Plan' : 'Sweep')} at ${escapeHtml(model.generated_at)} · calendar in ${escapeHtml(model.timezone)} · ${totals.resources} resources, ${totals.backups} backups, ${totals.deleted} ${model.kind === 'plan' ? 'to delete' : 'planned deletions'}</p>
${model.notes.map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('\n')}
${model.simulation_assumptions === undefined ? '' : `<p class="note sim-note">${escapeHtml(model.simulation_assumptions)}</p>`}
<nav aria-label="Targets">${nav}</nav>
<details class="legend"><summary>Legend: what each mark means</summary><ul>${legend}</ul>
<p>Upper lane: what stays after the sweep. Lower lane: what the sweep deletes. The shaded band is the largest gap between restore points after the sweep. Hover or focus a mark for its reasons; every timeline has a table with the same facts.</p></details>
</header>
<main>
${model.targets.map((target, index) => targetSection(model, target, index)).join('\n')}
</main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="report-data">${safeJson(model)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
