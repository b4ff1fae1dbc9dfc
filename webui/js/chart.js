// A small SVG chart module: time-series lines and horizontal bars. No dependencies.
// Each chart is an <svg role="img"> with a <title>/<desc> summary for screen readers; the
// numbers it draws are also shown as text on the page by the caller.
import {svg, h, newId} from './dom.js';

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#0a7ea4'];

function niceMax(v) {
	if (!(v > 0)) return 1;
	const p = 10 ** Math.floor(Math.log10(v));
	for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
	return 10 * p;
}

function hhmmss(t) {
	const d = new Date(t);
	const p = (x) => String(x).padStart(2, '0');
	return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

// series: [{name, points: [[t_ms, value], ...]}]; fmt formats axis values.
export function lineChart({title, series, fmt = (v) => String(v), width = 560, height = 220, windowMs, integer}) {
	const m = {l: 64, r: 12, t: 12, b: 28};
	const w = width - m.l - m.r;
	const hgt = height - m.t - m.b;
	const all = series.flatMap((s) => s.points);
	const now = Date.now();
	const tMax = all.length ? Math.max(...all.map((p) => p[0])) : now;
	// show the data we have (at least a minute), up to windowMs
	const span = all.length ? tMax - Math.min(...all.map((p) => p[0])) : 0;
	const shown = Math.max(60000, Math.min(windowMs || Infinity, span * 1.05));
	const tMin = tMax - shown;
	const top = Math.max(0, ...all.map((p) => p[1]));
	// counts: whole-number grid lines (4 steps); amounts: a "nice" maximum
	const vMax = integer ? Math.max(1, Math.ceil(top / 4)) * 4 : niceMax(top);
	const x = (t) => m.l + ((t - tMin) / Math.max(1, tMax - tMin)) * w;
	const y = (v) => m.t + hgt - (v / vMax) * hgt;
	const titleId = newId('chart-t');
	const descId = newId('chart-d');
	const last = series.map((s) => `${s.name}: ${s.points.length ? fmt(s.points[s.points.length - 1][1]) : 'no data'}`);
	const root = svg('svg', {
		viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img',
		'aria-labelledby': `${titleId} ${descId}`, preserveAspectRatio: 'xMidYMid meet',
	}, svg('title', {id: titleId, text: title}),
	svg('desc', {id: descId, text: `Latest values. ${last.join('; ')}.`}));
	for (let i = 0; i <= 4; i++) {
		const v = (vMax * i) / 4;
		root.append(
			svg('line', {x1: m.l, x2: m.l + w, y1: y(v), y2: y(v), class: 'grid'}),
			svg('text', {x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis', text: fmt(v)}));
	}
	const nx = width < 420 ? 2 : 3; // fewer time labels on narrow charts so they do not collide
	for (let i = 0; i <= nx; i++) {
		const t = tMin + ((tMax - tMin) * i) / nx;
		root.append(svg('text', {x: x(t), y: height - 8, 'text-anchor': i === 0 ? 'start' : i === nx ? 'end' : 'middle',
			class: 'axis', text: hhmmss(t)}));
	}
	series.forEach((s, i) => {
		const pts = s.points.filter((p) => p[0] >= tMin);
		if (pts.length === 0) return;
		const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
		root.append(svg('path', {d, fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 2, class: 'line'}));
		const lastPt = pts[pts.length - 1];
		root.append(svg('circle', {cx: x(lastPt[0]), cy: y(lastPt[1]), r: 3, fill: COLORS[i % COLORS.length]}));
	});
	const legend = h('ul', {class: 'legend', 'aria-hidden': 'true'},
		series.map((s, i) => h('li', null,
			svg('svg', {width: 12, height: 12, viewBox: '0 0 12 12'},
				svg('rect', {width: 12, height: 12, fill: COLORS[i % COLORS.length]})),
			` ${s.name}`)));
	return h('figure', {class: 'chart-fig'}, root, h('figcaption', null, title), legend);
}

// bars: [{label, value}] drawn largest first.
export function barChart({title, bars, fmt = (v) => String(v), width = 560, rowHeight = 22}) {
	const sorted = [...bars].sort((a, b) => b.value - a.value);
	const labelW = 140;
	const valueW = 80;
	const height = Math.max(1, sorted.length) * rowHeight + 8;
	const max = Math.max(1, ...sorted.map((b) => b.value));
	const w = width - labelW - valueW;
	const titleId = newId('chart-t');
	const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-labelledby': titleId},
		svg('title', {id: titleId, text: `${title}: ${sorted.map((b) => `${b.label} ${fmt(b.value)}`).join(', ') || 'no data'}`}));
	if (sorted.length === 0)
		root.append(svg('text', {x: 8, y: 18, class: 'axis', text: 'No data yet.'}));
	sorted.forEach((b, i) => {
		const yy = 4 + i * rowHeight;
		const label = b.label.length > 18 ? `${b.label.slice(0, 17)}…` : b.label;
		root.append(
			svg('text', {x: labelW - 6, y: yy + rowHeight / 2 + 4, 'text-anchor': 'end', class: 'axis', text: label}),
			svg('rect', {x: labelW, y: yy + 3, width: Math.max(1, (b.value / max) * w), height: rowHeight - 6,
				fill: COLORS[0], rx: 2}),
			svg('text', {x: labelW + Math.max(1, (b.value / max) * w) + 4, y: yy + rowHeight / 2 + 4, class: 'axis',
				text: fmt(b.value)}));
	});
	return h('figure', {class: 'chart-fig'}, root, h('figcaption', null, title));
}

// A bounded time series buffer.
export class Series {
	constructor(name, max = 360) {
		this.name = name;
		this.max = max;
		this.points = [];
	}

	push(t, v) {
		if (!Number.isFinite(v)) return;
		this.points.push([t, v]);
		if (this.points.length > this.max) this.points.shift();
	}
}
