/**
 * The report page's script, inline. It reads the model from <script id="report-data"> and draws on demand:
 * resource rows 50 at a time, a resource's timeline (SVG) and its text table when the row is opened, and a
 * tooltip with a mark's reasons on hover or focus. Data only ever reaches the page through `textContent` and
 * `setAttribute` — never as HTML. Plain ES2020, no dependencies; kept as a string so the bundled Lambda and the
 * CLI embed exactly the same bytes.
 */
export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var data = JSON.parse(document.getElementById('report-data').textContent);
var NS = 'http://www.w3.org/2000/svg';
var PAGE = 50;
var W = 960, LEFT = 64, RIGHT = 8, STAY_Y = 22, GO_Y = 58, H = 96;
var classes = data.classes;
var RESTORE_GONE = { deleted: 1, delete_failed: 1, pending: 1, in_progress: 1, failed: 1 };
var dateFormat = new Intl.DateTimeFormat('en-CA', { timeZone: data.timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
var dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: data.timezone, year: 'numeric', month: 'short', day: 'numeric' });

function when(seconds) { return dateFormat.format(new Date(seconds * 1000)).replace(',', ''); }
function span(ms) {
  if (ms === null || ms === undefined) return '-';
  var hours = Math.round(ms / 3600000), days = Math.floor(hours / 24), rest = hours - days * 24;
  if (days === 0) return rest + 'h';
  return rest === 0 ? days + 'd' : days + 'd ' + rest + 'h';
}
function el(tag, attrs, text) {
  var node = document.createElement(tag);
  if (attrs) for (var key in attrs) node.setAttribute(key, attrs[key]);
  if (text !== undefined) node.textContent = text;
  return node;
}
function sv(tag, attrs) {
  var node = document.createElementNS(NS, tag);
  for (var key in attrs) node.setAttribute(key, attrs[key]);
  return node;
}
function shape(markClass, x, y) {
  var c = markClass.color, s = markClass.shape;
  if (s === 'ring') return sv('circle', { cx: x, cy: y, r: 4.5, fill: '#fff', stroke: c, 'stroke-width': 2 });
  if (s === 'cross') return sv('path', { d: 'M' + (x - 4) + ' ' + (y - 4) + 'L' + (x + 4) + ' ' + (y + 4) + 'M' + (x - 4) + ' ' + (y + 4) + 'L' + (x + 4) + ' ' + (y - 4), stroke: c, 'stroke-width': 2.2, fill: 'none' });
  if (s === 'diamond') return sv('path', { d: 'M' + x + ' ' + (y - 6) + 'L' + (x + 6) + ' ' + y + 'L' + x + ' ' + (y + 6) + 'L' + (x - 6) + ' ' + y + 'Z', fill: c });
  if (s === 'triangle') return sv('path', { d: 'M' + x + ' ' + (y - 5.5) + 'L' + (x + 5.5) + ' ' + (y + 4.5) + 'L' + (x - 5.5) + ' ' + (y + 4.5) + 'Z', fill: c });
  if (s === 'square') return sv('rect', { x: x - 4.5, y: y - 4.5, width: 9, height: 9, fill: c });
  return sv('circle', { cx: x, cy: y, r: 4.5, fill: c });
}

function ticks(t0, t1) {
  var range = Math.max(1, t1 - t0), steps = [3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 91 * 86400, 365 * 86400];
  var step = steps[steps.length - 1];
  for (var i = 0; i < steps.length; i++) if (range / steps[i] <= 8) { step = steps[i]; break; }
  var out = [];
  for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return { step: step, at: out };
}

function isRestorePoint(classIndex) { return !RESTORE_GONE[classes[classIndex].id]; }
function at(target, resource, i) { return target.t_min + resource.t[i]; }
function nameOf(resource, i) { return resource.name[i] === null ? '' : resource.np + resource.name[i]; }
/** Per-class counts of a resource, computed once (the file does not carry them). */
function countsOf(resource) {
  if (resource.counts) return resource.counts;
  var counts = {};
  for (var i = 0; i < resource.c.length; i++) { var id = classes[resource.c[i]].id; counts[id] = (counts[id] || 0) + 1; }
  resource.counts = counts;
  return counts;
}

function timeline(target, resource) {
  var t0 = target.t_min, t1 = target.t_max, range = Math.max(1, t1 - t0);
  var x = function (t) { return LEFT + ((t - t0) / range) * (W - LEFT - RIGHT); };
  var counts = [], perClass = countsOf(resource);
  for (var id in perClass) counts.push(perClass[id] + ' ' + labelOf(id));
  var svg = sv('svg', { class: 'tl', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Timeline of ' + resource.t.length + ' backups of ' + resource.label + ': ' + counts.join(', ') + '. The table below lists each backup with its reasons.' });
  svg.appendChild(sv('rect', { class: 'lane', x: 0, y: STAY_Y - 12, width: W, height: 24, rx: 4 }));
  svg.appendChild(sv('rect', { class: 'lane goes', x: 0, y: GO_Y - 12, width: W, height: 24, rx: 4 }));
  var stays = sv('text', { x: 6, y: STAY_Y + 4, class: 'lanename' }); stays.textContent = 'stays';
  var goes = sv('text', { x: 6, y: GO_Y + 4, class: 'lanename' }); goes.textContent = 'deleted';
  svg.appendChild(stays); svg.appendChild(goes);
  var after = [];
  for (var i = 0; i < resource.t.length; i++) if (!classes[resource.c[i]].goes && isRestorePoint(resource.c[i])) after.push(at(target, resource, i));
  var best = -1, from = 0, to = 0;
  for (var j = 1; j < after.length; j++) if (after[j - 1] - after[j] > best) { best = after[j - 1] - after[j]; from = after[j]; to = after[j - 1]; }
  if (best > 0) svg.appendChild(sv('rect', { class: 'gap', x: x(from), y: STAY_Y - 12, width: Math.max(1, x(to) - x(from)), height: 24 }));
  var tick = ticks(t0, t1);
  svg.appendChild(sv('line', { class: 'axis', x1: 0, x2: W, y1: H - 18, y2: H - 18 }));
  for (var k = 0; k < tick.at.length; k++) {
    var tx = x(tick.at[k]);
    svg.appendChild(sv('line', { class: 'axis', x1: tx, x2: tx, y1: H - 21, y2: H - 15 }));
    var label = sv('text', { x: tx, y: H - 4, 'text-anchor': 'middle' });
    label.textContent = tick.step < 86400 ? when(tick.at[k]).slice(5) : dayFormat.format(new Date(tick.at[k] * 1000));
    svg.appendChild(label);
  }
  var focusable = resource.t.length <= 400;
  for (var m = resource.t.length - 1; m >= 0; m--) {
    var markClass = classes[resource.c[m]];
    var node = shape(markClass, x(at(target, resource, m)), markClass.goes ? GO_Y : STAY_Y);
    node.setAttribute('data-mark', '');
    node.setAttribute('data-i', String(m));
    node.setAttribute('data-class', markClass.id);
    if (focusable) node.setAttribute('tabindex', '0');
    svg.appendChild(node);
  }
  return svg;
}

function labelOf(id) { for (var i = 0; i < classes.length; i++) if (classes[i].id === id) return classes[i].label; return id; }

function dayText(target, day) {
  if (day < 0) return 'still there after ' + target.simulation.days + ' days';
  if (day === 0) return 'deleted now (day 0)';
  return 'deleted on day ' + day + ' (' + dayFormat.format(new Date(target.simulation.sweep_times[day])) + ')';
}

function tipLines(target, resource, i) {
  var lines = [when(at(target, resource, i)) + '  ' + classes[resource.c[i]].label, 'backup ' + resource.id[i]];
  if (resource.name[i] !== null) lines.push('name ' + nameOf(resource, i));
  lines.push('reasons: ' + data.reasons[resource.r[i]].join('; '));
  if (resource.simulation) lines.push('simulation: ' + dayText(target, resource.simulation.deleted_day[i]));
  return lines.join('\n');
}

function table(target, resource) {
  var box = el('details', { class: 'alt' });
  box.appendChild(el('summary', null, 'Text alternative: the ' + resource.t.length + ' backups as a table'));
  var tableNode = el('table');
  var head = el('tr');
  var columns = ['created (' + data.timezone + ')', 'backup', 'name', 'mark', 'reasons'];
  if (resource.simulation) columns.push('simulation');
  for (var c = 0; c < columns.length; c++) head.appendChild(el('th', { scope: 'col' }, columns[c]));
  var thead = el('thead'); thead.appendChild(head); tableNode.appendChild(thead);
  var body = el('tbody');
  for (var i = 0; i < resource.t.length; i++) {
    var row = el('tr');
    row.appendChild(el('td', null, when(at(target, resource, i))));
    row.appendChild(el('td', { class: 'id' }, resource.id[i]));
    row.appendChild(el('td', null, nameOf(resource, i)));
    row.appendChild(el('td', null, classes[resource.c[i]].label));
    row.appendChild(el('td', null, data.reasons[resource.r[i]].join('; ')));
    if (resource.simulation) row.appendChild(el('td', null, dayText(target, resource.simulation.deleted_day[i])));
    body.appendChild(row);
  }
  tableNode.appendChild(body);
  box.appendChild(tableNode);
  return box;
}

function points(label, p) {
  var box = el('div');
  box.appendChild(el('b', null, label));
  box.appendChild(document.createTextNode(pointsText(p, false)));
  return box;
}

function spark(series) {
  var max = 1;
  for (var i = 0; i < series.length; i++) if (series[i] > max) max = series[i];
  var svg = sv('svg', { class: 'spark', viewBox: '0 0 240 36', 'aria-hidden': 'true' });
  var pts = [];
  for (var j = 0; j < series.length; j++) pts.push(((j / Math.max(1, series.length - 1)) * 236 + 2).toFixed(1) + ',' + (34 - (series[j] / max) * 32).toFixed(1));
  svg.appendChild(sv('polyline', { points: pts.join(' ') }));
  return svg;
}

function openResource(target, resource, details) {
  var body = details.querySelector('.body');
  if (body.childNodes.length > 0) return;
  body.appendChild(timeline(target, resource));
  var stats = el('div', { class: 'stats' });
  if (data.kind === 'plan') {
    stats.appendChild(points('before the sweep', resource.before));
    stats.appendChild(points('after the sweep', resource.after));
  }
  if (resource.simulation) {
    var s = resource.simulation, box = el('div');
    box.appendChild(el('b', null, 'after ' + target.simulation.days + ' simulated days'));
    box.appendChild(document.createTextNode(s.restore_points + ' restore points' + (s.newest ? ', newest ' + when(Date.parse(s.newest) / 1000) + ', oldest ' + when(Date.parse(s.oldest) / 1000) : '') + ', largest gap ' + span(s.largest_gap_ms) + (s.max_gap_points > 0 ? ', ' + s.max_gap_points + ' kept only by max_gap' : '') + '; cadence ' + (s.cadence_ms === null ? 'unknown (fewer than two finished backups): no new backups assumed' : span(s.cadence_ms) + ' (median of recent intervals)')));
    box.appendChild(el('br'));
    box.appendChild(spark(s.points_by_day));
    stats.appendChild(box);
  }
  body.appendChild(stats);
  body.appendChild(table(target, resource));
}

/** [count, newest, oldest, largest gap] in seconds. */
function pointsText(p, short) {
  if (p[0] === 0) return 'no restore point';
  var gap = p[3] === null ? '-' : span(p[3] * 1000);
  if (short) return p[0] + ' restore points, oldest ' + when(p[2]).slice(0, 10) + ', largest gap ' + gap;
  return p[0] + ' restore points, newest ' + when(p[1]) + ', oldest ' + when(p[2]) + ', largest gap ' + gap;
}

function summaryLine(resource) {
  var line = el('span', { class: 'rsum' });
  if (data.kind === 'sweep') {
    // A stored sweep carries its planned deletions only: say what became of them.
    var parts = [], perClass = countsOf(resource);
    for (var id in perClass) parts.push(perClass[id] + ' ' + labelOf(id));
    line.appendChild(el('b', null, resource.t.length + ' planned deletions'));
    line.appendChild(document.createTextNode(': ' + parts.join(' · ')));
    return line;
  }
  var keeps = 0, deletes = 0;
  for (var i = 0; i < resource.c.length; i++) { if (classes[resource.c[i]].goes) deletes++; else keeps++; }
  line.appendChild(document.createTextNode(resource.t.length + ' backups: '));
  line.appendChild(el('b', null, 'keep ' + keeps));
  line.appendChild(document.createTextNode(' · '));
  line.appendChild(el('b', { class: deletes > 0 ? 'del' : '' }, 'delete ' + deletes));
  line.appendChild(document.createTextNode(' · after: ' + pointsText(resource.after, true)));
  return line;
}

function matches(resource, filter, query) {
  var counts = filter === 'all' ? null : countsOf(resource);
  if (filter === 'deletes' && !((counts.deleted || 0) + (counts.pending || 0) + (counts.delete_failed || 0))) return false;
  if (filter === 'guard' && !counts.max_gap) return false;
  if (filter === 'held' && !((counts.protected || 0) + (counts.skipped || 0))) return false;
  if (query === '') return true;
  if (resource.key.toLowerCase().indexOf(query) >= 0 || resource.label.toLowerCase().indexOf(query) >= 0) return true;
  for (var i = 0; i < resource.id.length; i++) if (resource.id[i].toLowerCase().indexOf(query) >= 0 || nameOf(resource, i).toLowerCase().indexOf(query) >= 0) return true;
  return false;
}

function setUp(container) {
  var target = data.targets[Number(container.getAttribute('data-target'))];
  var rows = container.querySelector('.rows'), more = container.querySelector('.more');
  var filter = container.querySelector('.filter'), find = container.querySelector('.find'), shown = container.querySelector('.shown');
  var list = [], next = 0;
  function page() {
    var end = Math.min(list.length, next + PAGE), fragment = document.createDocumentFragment();
    for (; next < end; next++) {
      var resource = target.resources[list[next]];
      var details = el('details', { class: 'res', 'data-key': resource.key, 'data-resource': String(list[next]) });
      var summary = el('summary');
      var name = el('span', { class: 'rlabel' }, resource.label);
      name.appendChild(el('span', { class: 'rkey' }, resource.key));
      summary.appendChild(name);
      summary.appendChild(summaryLine(resource));
      details.appendChild(summary);
      details.appendChild(el('div', { class: 'body' }));
      fragment.appendChild(details);
    }
    rows.appendChild(fragment);
    more.hidden = next >= list.length;
    shown.textContent = 'showing ' + next + ' of ' + list.length + ' resources';
  }
  function refresh() {
    var query = find.value.trim().toLowerCase();
    list = [];
    for (var i = 0; i < target.resources.length; i++) if (matches(target.resources[i], filter.value, query)) list.push(i);
    rows.textContent = '';
    next = 0;
    page();
  }
  rows.addEventListener('toggle', function (event) {
    var details = event.target;
    if (details.open && details.classList.contains('res')) openResource(target, target.resources[Number(details.getAttribute('data-resource'))], details);
  }, true);
  more.addEventListener('click', page);
  filter.addEventListener('change', refresh);
  var timer = 0;
  find.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(refresh, 150); });
  refresh();
}

var tip = document.getElementById('tip');
function markOf(node) { return node && node.closest ? node.closest('[data-mark]') : null; }
function show(mark, clientX, clientY) {
  var details = mark.closest('details.res'), container = mark.closest('.resources');
  var target = data.targets[Number(container.getAttribute('data-target'))];
  var resource = target.resources[Number(details.getAttribute('data-resource'))];
  tip.textContent = tipLines(target, resource, Number(mark.getAttribute('data-i')));
  tip.hidden = false;
  var left = Math.min(window.innerWidth - tip.offsetWidth - 8, clientX + 14);
  var top = clientY + 16 + tip.offsetHeight > window.innerHeight ? clientY - tip.offsetHeight - 10 : clientY + 16;
  tip.style.left = Math.max(4, left) + 'px';
  tip.style.top = Math.max(4, top) + 'px';
}
document.addEventListener('mouseover', function (event) { var mark = markOf(event.target); if (mark) show(mark, event.clientX, event.clientY); });
document.addEventListener('mouseout', function (event) { if (markOf(event.target)) tip.hidden = true; });
document.addEventListener('focusin', function (event) { var mark = markOf(event.target); if (mark) { var box = mark.getBoundingClientRect(); show(mark, box.right, box.bottom); } });
document.addEventListener('focusout', function (event) { if (markOf(event.target)) tip.hidden = true; });

var containers = document.querySelectorAll('.resources');
for (var c = 0; c < containers.length; c++) setUp(containers[c]);
document.documentElement.setAttribute('data-ready', '1');
if (window.performance && performance.mark) performance.mark('report-ready');
})();
`;
