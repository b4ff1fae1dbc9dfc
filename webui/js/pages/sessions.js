// VPN sessions: IKE SAs joined with their IPsec SAs; disconnect = DELETE /sa/ike/{id}.
import {h, fmtBytes, fmtDuration, ageSeconds, fmtNum, fmtTime} from '../dom.js';
import {api, seg} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, confirmDialog, announce, errorText, field, pager} from '../ui.js';

const REFRESH_MS = 5000;

function algs(sa) {
	return [sa.encryption, sa.hash, sa.dh_group !== undefined && sa.dh_group !== null ? `group ${sa.dh_group}` : null, sa.auth]
		.filter(Boolean).join(' / ');
}

export async function render(root) {
	const refresh = h('button', {type: 'button'}, 'Refresh');
	root.append(pageHeader('VPN sessions', refresh));
	const ikeBox = h('div');
	const ipsecBox = h('div');
	const leaseBox = h('div');
	const leaseState = h('select', null, [['active', 'active'], ['released', 'released'], ['', 'all']]
		.map(([v, t]) => h('option', {value: v}, t)));
	root.append(section('IKE (phase 1) SAs', ikeBox), section('IPsec (phase 2) SAs', ipsecBox),
		section('Address leases (Mode Config)',
			h('div', {class: 'toolbar'}, field({name: 'lease-state', label: 'Show leases', control: leaseState})),
			leaseBox));
	let leaseOffset = 0;
	let timer = null;
	let stopped = false;

	async function disconnect(sa) {
		const who = sa.user ? `${sa.user} (${sa.peer})` : sa.peer;
		const ok = await confirmDialog({
			title: 'Disconnect VPN client',
			message: `Disconnect ${who}? Its IKE SA and all IPsec SAs are deleted, the client is told with a DELETE notification, and an accounting stop record is written.`,
			confirmLabel: 'Disconnect',
		});
		if (!ok) return;
		try {
			await api.del(`/sa/ike/${seg(sa.id)}`);
			announce(`Disconnected ${who}.`);
			await load();
		} catch (e) {
			if (e.status !== 401) announce(errorText(e), 'error');
		}
	}

	async function loadLeases() {
		let p;
		try {
			p = await api.get('/leases', {state: leaseState.value, offset: leaseOffset, limit: 50});
		} catch (e) {
			if (e.status === 401) throw e;
			replace(leaseBox, errorBox(e));
			return;
		}
		const items = (p && p.items) || [];
		const total = Number(p.total ?? items.length);
		replace(leaseBox,
			total > 50 ? pager({offset: leaseOffset, limit: 50, total, label: 'leases', onPage: (o) => { leaseOffset = o; loadLeases().catch(() => {}); }}) : null,
			dataTable({
				caption: `Address leases (${total})`,
				columns: [
					{label: 'Address', get: (r) => r.address},
					{label: 'Pool', get: (r) => r.pool},
					{label: 'User', get: (r) => r.username},
					{label: 'Public address', get: (r) => r.peer_address},
					{label: 'State', get: (r) => r.state},
					{label: 'Assigned', get: (r) => fmtTime(r.assigned_at)},
					{label: 'Released', get: (r) => fmtTime(r.released_at)},
				],
				rows: items,
				empty: 'No leases.',
			}));
	}

	async function load() {
		await loadLeases();
		// the two lists are fetched separately so one failing subsystem does not hide the other
		const [ikeR, ipsecR] = await Promise.allSettled([api.get('/sa/ike'), api.get('/sa/ipsec')]);
		for (const r of [ikeR, ipsecR]) if (r.status === 'rejected' && r.reason && r.reason.status === 401) throw r.reason;
		const ike = ikeR.status === 'fulfilled' ? ikeR.value : null;
		const ipsec = ipsecR.status === 'fulfilled' ? ipsecR.value : null;
		const ikeItems = (ike && ike.items) || [];
		const ipsecItems = (ipsec && ipsec.items) || [];
		const byIke = new Map();
		for (const c of ipsecItems) {
			const l = byIke.get(c.ike_id) || [];
			l.push(c);
			byIke.set(c.ike_id, l);
		}
		if (ikeR.status === 'rejected') replace(ikeBox, errorBox(ikeR.reason));
		else replace(ikeBox, dataTable({
			caption: `IKE SAs (${ikeItems.length})`,
			columns: [
				{label: 'User', get: (r) => r.user},
				{label: 'Group', get: (r) => r.group},
				{label: 'Public address', get: (r) => r.peer},
				{label: 'Assigned address', get: (r) => (byIke.get(r.id) || []).map((c) => c.assigned_address).filter(Boolean)[0]},
				{label: 'State', get: (r) => r.state},
				{label: 'Mode', get: (r) => r.mode},
				{label: 'Algorithms', get: (r) => algs(r)},
				{label: 'Age', class: 'num', get: (r) => fmtDuration(ageSeconds(r.created))},
				{label: 'Bytes in / out', class: 'num', get: (r) => {
					const c = byIke.get(r.id) || [];
					const bin = c.reduce((a, x) => a + (Number(x.bytes_in) || 0), 0);
					const bout = c.reduce((a, x) => a + (Number(x.bytes_out) || 0), 0);
					return `${fmtBytes(bin)} / ${fmtBytes(bout)}`;
				}},
				{label: 'Action', get: (r) => h('button', {type: 'button', class: 'danger small',
					'aria-label': `Disconnect ${r.user || r.peer}`, onclick: () => disconnect(r)}, 'Disconnect')},
			],
			rows: ikeItems,
			empty: 'No IKE SAs: no VPN client is connected.',
		}));
		if (ipsecR.status === 'rejected') replace(ipsecBox, errorBox(ipsecR.reason));
		else replace(ipsecBox, dataTable({
			caption: `IPsec SAs (${ipsecItems.length})`,
			columns: [
				{label: 'User', get: (r) => r.user},
				{label: 'Assigned address', get: (r) => r.assigned_address},
				{label: 'Public address', get: (r) => r.peer},
				{label: 'Transform', get: (r) => r.transform},
				{label: 'SPI in / out', get: (r) => `${r.spi_in ?? '–'} / ${r.spi_out ?? '–'}`},
				{label: 'Age', class: 'num', get: (r) => fmtDuration(ageSeconds(r.created))},
				{label: 'Bytes in / out', class: 'num', get: (r) => `${fmtBytes(r.bytes_in)} / ${fmtBytes(r.bytes_out)}`},
				{label: 'Packets in / out', class: 'num', get: (r) => `${fmtNum(r.packets_in)} / ${fmtNum(r.packets_out)}`},
			],
			rows: ipsecItems,
			empty: 'No IPsec SAs.',
		}));
	}

	function schedule() {
		if (stopped) return;
		timer = window.setTimeout(async () => {
			try {
				await load();
			} catch (e) {
				return;
			}
			schedule();
		}, REFRESH_MS);
	}

	leaseState.addEventListener('change', () => {
		leaseOffset = 0;
		loadLeases().catch(() => {});
	});
	refresh.addEventListener('click', () => load().then(() => announce('Sessions refreshed.')).catch(() => {}));
	await load();
	schedule();
	return () => {
		stopped = true;
		window.clearTimeout(timer);
	};
}
