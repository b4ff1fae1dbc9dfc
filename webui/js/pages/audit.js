// Audit log: who changed what, newest first, server-side paging.
import {h, fmtTime} from '../dom.js';
import {api} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, pager, openDialog} from '../ui.js';

const LIMIT = 50;

function pretty(json) {
	if (json === undefined || json === null || json === '') return '–';
	try {
		return JSON.stringify(typeof json === 'string' ? JSON.parse(json) : json, null, 2);
	} catch (e) {
		return String(json);
	}
}

export async function render(root, route) {
	const reload = h('button', {type: 'button'}, 'Refresh');
	root.append(pageHeader('Audit log', reload));
	const box = h('div');
	root.append(section('Changes and sign-ins', box));
	let offset = Math.max(0, Number(route.query.get('offset')) || 0);

	function details(r) {
		openDialog({title: `${r.action} ${r.object}`, wide: true, body: [
			h('p', null, `${fmtTime(r.at)} by ${r.actor}${r.source ? ` from ${r.source}` : ''}`),
			h('div', {class: 'report-grid'},
				h('div', null, h('h3', null, 'Before'), h('pre', {class: 'mono'}, pretty(r.before ?? r.before_json))),
				h('div', null, h('h3', null, 'After'), h('pre', {class: 'mono'}, pretty(r.after ?? r.after_json))))]});
	}

	async function load() {
		let p;
		try {
			p = await api.get('/audit', {offset, limit: LIMIT});
		} catch (e) {
			if (e.status === 401) throw e;
			replace(box, errorBox(e));
			return;
		}
		const items = (p && p.items) || [];
		const total = Number(p.total ?? items.length);
		replace(box,
			pager({offset, limit: LIMIT, total, label: 'entries', onPage: (o) => { offset = o; load().catch(() => {}); }}),
			dataTable({
				caption: `Audit log entries (${total})`,
				columns: [
					{label: 'Time (UTC)', class: 'nowrap', get: (r) => fmtTime(r.at)},
					{label: 'Actor', get: (r) => r.actor},
					{label: 'Action', get: (r) => r.action},
					{label: 'Object', class: 'mono', get: (r) => r.object},
					{label: 'Source', get: (r) => r.source},
					{label: 'Details', get: (r) => h('button', {type: 'button', class: 'small', 'aria-label': `Details of ${r.action} ${r.object}`, onclick: () => details(r)}, 'View')},
				],
				rows: items,
				empty: 'The audit log is empty.',
			}));
	}
	reload.addEventListener('click', () => load().catch(() => {}));
	await load();
}
