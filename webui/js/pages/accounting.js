// Accounting records: filters kept in the URL, server-side paging (never loads everything),
// CSV download from GET /accounting.csv with the same filters (Cisco Secure ACS layout).
import {h, fmtBytes, fmtTime, fmtDuration} from '../dom.js';
import {api, buildQuery, BASE} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, pager, field, announce} from '../ui.js';

const LIMITS = [25, 50, 100, 200];

// datetime-local value (read as UTC) <-> ISO text
function localToIso(v) {
	return v ? `${v.length === 16 ? `${v}:00` : v}Z` : '';
}

function isoToLocal(v) {
	if (!v) return '';
	const d = new Date(v);
	return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16);
}

export async function render(root, route) {
	const q = route.query;
	const csv = h('a', {class: 'button', href: '#', download: 'accounting.csv', id: 'csv-link'}, 'Download CSV');
	root.append(pageHeader('Accounting', csv));
	const user = h('input', {type: 'text', value: q.get('user') || '', autocomplete: 'off'});
	const type = h('select', null,
		[['', 'start and stop'], ['start', 'start'], ['stop', 'stop'], ['interim', 'interim']]
			.map(([v, t]) => h('option', {value: v, selected: (q.get('type') || '') === v}, t)));
	const service = h('input', {type: 'text', value: q.get('service') || '', list: 'acct-services', autocomplete: 'off'});
	const from = h('input', {type: 'datetime-local', value: isoToLocal(q.get('from'))});
	const to = h('input', {type: 'datetime-local', value: isoToLocal(q.get('to'))});
	const limitSel = h('select', null, LIMITS.map((n) => h('option', {value: String(n), selected: Number(q.get('limit') || 50) === n}, String(n))));
	const apply = h('button', {type: 'submit', class: 'primary'}, 'Apply filters');
	const reset = h('button', {type: 'button'}, 'Reset');
	const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Accounting filters'},
		field({name: 'user', label: 'User', control: user}),
		field({name: 'type', label: 'Record', control: type}),
		field({name: 'service', label: 'Service', control: service}),
		h('datalist', {id: 'acct-services'}, ['ipsec', 'telnet', 'http', 'ftp'].map((s) => h('option', {value: s}))),
		field({name: 'from', label: 'From (UTC)', control: from}),
		field({name: 'to', label: 'To (UTC)', control: to}),
		field({name: 'limit', label: 'Rows per page', control: limitSel}),
		h('div', {class: 'actions'}, apply, reset));
	const tableBox = h('div');
	root.append(section('Filters', form), section('Records', tableBox));

	const filters = () => ({
		user: user.value.trim(),
		type: type.value,
		service: service.value.trim(),
		from: localToIso(from.value),
		to: localToIso(to.value),
	});
	let offset = Math.max(0, Number(q.get('offset')) || 0);

	function syncUrl() {
		const hash = `#/accounting${buildQuery({...filters(), offset: offset || '', limit: limitSel.value === '50' ? '' : limitSel.value})}`;
		if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
		csv.href = `${BASE}/accounting.csv${buildQuery(filters())}`;
	}

	async function load() {
		syncUrl();
		const limit = Number(limitSel.value);
		let page;
		try {
			page = await api.get('/accounting', {...filters(), offset, limit});
		} catch (e) {
			if (e.status === 401) throw e;
			replace(tableBox, errorBox(e));
			return;
		}
		const items = (page && page.items) || [];
		const total = Number(page.total) || 0;
		replace(tableBox,
			pager({offset, limit, total, label: 'records', onPage: (o) => { offset = o; load().catch(() => {}); }}),
			dataTable({
				caption: `Accounting records ${total === 0 ? '(none match)' : `${offset + 1}–${offset + items.length} of ${total.toLocaleString('en-US')}`}`,
				columns: [
					{label: 'Time (UTC)', class: 'nowrap', get: (r) => fmtTime(r.created_at_ms ?? r.created_at ?? r.time)},
					{label: 'User', get: (r) => r.username},
					{label: 'Group', get: (r) => r.group_name},
					{label: 'Record', get: (r) => r.record_type},
					{label: 'Service', get: (r) => r.service},
					{label: 'Caller', get: (r) => r.caller_address},
					{label: 'Peer', get: (r) => r.peer_address},
					{label: 'Elapsed', class: 'num', get: (r) => fmtDuration(r.elapsed_s)},
					{label: 'Bytes in', class: 'num', get: (r) => fmtBytes(r.bytes_in)},
					{label: 'Bytes out', class: 'num', get: (r) => fmtBytes(r.bytes_out)},
					{label: 'Task', class: 'num', get: (r) => r.task_id},
					{label: 'Delivery', get: (r) => (r.state ? `${r.state}${r.delivered_to ? ` to ${r.delivered_to}` : ''}` : null)},
				],
				rows: items,
				empty: 'No accounting records match these filters.',
			}));
		announce(`${total.toLocaleString('en-US')} accounting records match.`);
	}

	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		offset = 0;
		load().catch(() => {});
	});
	reset.addEventListener('click', () => {
		user.value = '';
		type.value = '';
		service.value = '';
		from.value = '';
		to.value = '';
		offset = 0;
		load().catch(() => {});
	});
	limitSel.addEventListener('change', () => {
		offset = 0;
		load().catch(() => {});
	});
	await load();
}
