// Small DOM helpers. Everything that comes from the API is inserted with textContent or as
// attribute values through the DOM API, never parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function applyAttrs(el, attrs) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
		else if (k === 'text') el.textContent = String(v);
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden')
			el[k] = v;
		else el.setAttribute(k, v === true ? '' : String(v));
	}
}

function appendChildren(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === undefined || c === null || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

// h('button', {class: 'x', onclick: fn}, 'text', child...)
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	applyAttrs(el, attrs);
	appendChildren(el, children);
	return el;
}

export function svg(tag, attrs, ...children) {
	const el = document.createElementNS(SVG_NS, tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null) continue;
		if (k === 'text') el.textContent = String(v);
		else el.setAttribute(k, String(v));
	}
	appendChildren(el, children);
	return el;
}

export function clear(el) {
	while (el.firstChild) el.firstChild.remove();
	return el;
}

let uid = 0;
export function newId(prefix) {
	uid += 1;
	return `${prefix}-${uid}`;
}

export function fmtBytes(n) {
	if (n === undefined || n === null || Number.isNaN(Number(n))) return '–';
	let v = Number(n);
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (Math.abs(v) >= 1024 && i < units.length - 1) {
		v /= 1024;
		i += 1;
	}
	return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function fmtNum(n) {
	if (n === undefined || n === null || n === '') return '–';
	const v = Number(n);
	return Number.isFinite(v) ? v.toLocaleString('en-US') : String(n);
}

export function fmtDuration(sec) {
	if (sec === undefined || sec === null || Number.isNaN(Number(sec))) return '–';
	let s = Math.max(0, Math.floor(Number(sec)));
	const d = Math.floor(s / 86400);
	s -= d * 86400;
	const hh = Math.floor(s / 3600);
	s -= hh * 3600;
	const mm = Math.floor(s / 60);
	s -= mm * 60;
	const pad = (x) => String(x).padStart(2, '0');
	return `${d > 0 ? `${d}d ` : ''}${pad(hh)}:${pad(mm)}:${pad(s)}`;
}

// Accepts ISO text, epoch seconds or epoch ms; returns a Date or null.
export function toDate(v) {
	if (v === undefined || v === null || v === '') return null;
	if (typeof v === 'number') return new Date(v > 1e12 ? v : v * 1000);
	const d = new Date(v);
	return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtTime(v) {
	const d = toDate(v);
	if (!d) return v === undefined || v === null ? '–' : String(v);
	return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function ageSeconds(v) {
	const d = toDate(v);
	return d ? (Date.now() - d.getTime()) / 1000 : null;
}
