// uauth: the `show uauth` view. Filter, clear one, clear all.
import {h, fmtDuration, toDate, fmtTime} from '../dom.js';
import {api, seg} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, confirmDialog, announce, errorText, field} from '../ui.js';

function remaining(r) {
	const d = toDate(r.expires);
	if (!d) return r.method === 'ipsec' ? 'while the tunnel lasts' : null;
	return fmtDuration((d.getTime() - Date.now()) / 1000);
}

export async function render(root, route) {
	const refresh = h('button', {type: 'button'}, 'Refresh');
	const clearAll = h('button', {type: 'button', class: 'danger'}, 'Clear all');
	root.append(pageHeader('uauth', refresh, clearAll));
	const summary = h('pre', {class: 'show-output', 'aria-label': 'show uauth summary'});
	const filter = h('input', {type: 'search', value: route.query.get('q') || '', placeholder: 'user or address'});
	const tableBox = h('div');
	root.append(section('show uauth', summary,
		h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
			field({name: 'q', label: 'Filter', control: filter})),
		tableBox));
	let items = [];

	function draw() {
		const q = filter.value.trim().toLowerCase();
		const rows = q ? items.filter((r) => [r.user, r.address, r.method, r.group].some((v) => String(v ?? '').toLowerCase().includes(q))) : items;
		replace(tableBox, dataTable({
			caption: q ? `Authenticated users matching "${filter.value.trim()}" (${rows.length} of ${items.length})` : `Authenticated users (${items.length})`,
			columns: [
				{label: 'User', get: (r) => r.user},
				{label: 'Address', get: (r) => r.address},
				{label: 'Method', get: (r) => r.method},
				{label: 'Group', get: (r) => r.group},
				{label: 'Since', get: (r) => fmtTime(r.since)},
				{label: 'Timeout', get: (r) => (r.timeout_s ? `${fmtDuration(r.timeout_s)}${r.absolute ? ' absolute' : ' inactivity'}` : null)},
				{label: 'Remaining', class: 'num', get: remaining},
				{label: 'Action', get: (r) => h('button', {type: 'button', class: 'danger small',
					'aria-label': `Clear uauth for ${r.user} at ${r.address}`, onclick: () => clearOne(r)}, 'Clear')},
			],
			rows,
			empty: q ? 'No entry matches the filter.' : 'No authenticated users.',
		}));
	}

	async function load() {
		let u;
		try {
			u = await api.get('/uauth');
		} catch (e) {
			if (e.status === 401) throw e;
			replace(summary);
			replace(tableBox, errorBox(e));
			return;
		}
		items = (u && u.items) || [];
		const lines = [
			'                        Current    Most Seen',
			`Authenticated Users       ${String(u.current ?? 0).padEnd(10)} ${u.most_seen ?? 0}`,
			`Authen In Progress        ${String(u.in_progress ?? 0).padEnd(10)} ${u.in_progress_most_seen ?? 0}`,
		];
		for (const r of items)
			lines.push(`${r.method === 'ipsec' ? 'ipsec user' : 'user'} '${r.user}' at ${r.address}, authenticated`);
		summary.textContent = lines.join('\n');
		draw();
	}

	async function clearOne(r) {
		const ok = await confirmDialog({title: 'Clear uauth entry',
			message: `Clear ${r.user} at ${r.address}? The user must authenticate again${r.method === 'ipsec' ? '; the VPN tunnel is not torn down by this' : ''}.`,
			confirmLabel: 'Clear'});
		if (!ok) return;
		try {
			await api.del(`/uauth/${seg(r.id)}`);
			announce(`Cleared uauth for ${r.user}.`);
			await load();
		} catch (e) {
			if (e.status !== 401) announce(errorText(e), 'error');
		}
	}

	clearAll.addEventListener('click', async () => {
		const ok = await confirmDialog({title: 'Clear all uauth entries',
			message: `Clear all ${items.length} authenticated users (clear uauth)? Everyone must authenticate again.`,
			confirmLabel: 'Clear all'});
		if (!ok) return;
		try {
			await api.del('/uauth');
			announce('Cleared all uauth entries.');
			await load();
		} catch (e) {
			if (e.status !== 401) announce(errorText(e), 'error');
		}
	});
	filter.addEventListener('input', draw);
	refresh.addEventListener('click', () => load().then(() => announce('uauth refreshed.')).catch(() => {}));
	await load();
	const timer = window.setInterval(() => load().catch(() => window.clearInterval(timer)), 5000);
	return () => window.clearInterval(timer);
}
