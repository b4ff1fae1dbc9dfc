// Dashboard: counters from GET /stats, live updates over the SSE event stream (GET /events),
// with /stats polled as the fallback and for the time series.
import {h, fmtBytes, fmtNum, fmtTime} from '../dom.js';
import {api, BASE} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, errorText} from '../ui.js';
import {lineChart, barChart, Series} from '../chart.js';

const POLL_LIVE_MS = 10000; // while the event stream is connected
const POLL_FALLBACK_MS = 3000; // while it is not
const WINDOW_MS = 15 * 60 * 1000;

// Kept across visits so the charts do not start empty every time the page is opened.
const history = {
	tunnels: new Series('Tunnels up'),
	uauth: new Series('uauth current'),
	rxRate: new Series('Bytes in /s'),
	txRate: new Series('Bytes out /s'),
	last: null,
};

function tile(label, value, sub) {
	return h('div', {class: 'tile'},
		h('p', {class: 'tile-label'}, label),
		h('p', {class: 'tile-value'}, value),
		sub ? h('p', {class: 'tile-sub'}, sub) : null);
}

function recordStats(s) {
	const t = Date.now();
	history.tunnels.push(t, Number(s.tunnels));
	history.uauth.push(t, Number(s.uauth_current));
	const bin = Number(s.bytes_in);
	const bout = Number(s.bytes_out);
	if (history.last && t > history.last.t) {
		const dt = (t - history.last.t) / 1000;
		if (bin >= history.last.bin) history.rxRate.push(t, (bin - history.last.bin) / dt);
		if (bout >= history.last.bout) history.txRate.push(t, (bout - history.last.bout) / dt);
	}
	history.last = {t, bin, bout};
}

export async function render(root) {
	const live = h('span', {class: 'badge', id: 'live-state'}, 'connecting…');
	root.append(pageHeader('Dashboard', live));
	const tiles = h('div', {class: 'tiles', 'aria-live': 'off'});
	const charts = h('div', {class: 'charts'});
	const byUser = h('div');
	const health = h('div');
	const ifaces = h('div');
	const events = h('ol', {class: 'events', 'aria-label': 'Recent events'});
	root.append(
		section('Now', tiles),
		section('Over time', charts),
		h('div', {class: 'two-col'},
			section('Accounting bytes by user', byUser),
			section('AAA server health', health)),
		section('Interfaces', ifaces),
		section('Recent events', h('p', {class: 'muted'}, 'Live from the event stream (newest first).'), events));

	let stopped = false;
	let es = null;
	let timer = null;
	let streamOpen = false;

	function drawCharts() {
		// Draw at the on-screen size so labels stay readable on narrow screens.
		const width = Math.max(300, Math.min(560, charts.clientWidth || 560));
		replace(charts,
			lineChart({title: 'Tunnels and authenticated users', series: [history.tunnels, history.uauth],
				fmt: (v) => fmtNum(Math.round(v)), windowMs: WINDOW_MS, integer: true, width}),
			lineChart({title: 'Traffic through tunnels', series: [history.rxRate, history.txRate],
				fmt: (v) => `${fmtBytes(v)}/s`, windowMs: WINDOW_MS, width}));
	}

	async function loadStats() {
		let s;
		try {
			s = await api.get('/stats');
		} catch (e) {
			if (e.status === 401) throw e;
			replace(tiles, errorBox(e));
			return;
		}
		recordStats(s);
		replace(tiles,
			tile('Tunnels up', fmtNum(s.tunnels)),
			tile('uauth current / most seen', `${fmtNum(s.uauth_current)} / ${fmtNum(s.uauth_most_seen)}`),
			tile('Authentications in progress', fmtNum(s.auth_in_progress)),
			tile('Handshakes /min', fmtNum(s.handshakes_per_min)),
			tile('Failures /min', fmtNum(s.failures_per_min), Number(s.failures_per_min) > 0 ? 'see the audit and logs' : null),
			tile('Accounting records /min', fmtNum(s.acct_per_min), s.acct_backlog !== undefined ? `backlog ${fmtNum(s.acct_backlog)}` : null),
			tile('Bytes in / out', `${fmtBytes(s.bytes_in)} / ${fmtBytes(s.bytes_out)}`),
			tile('SA backend', s.sa_backend || '–'),
			s.leases_active !== undefined ? tile('Pool addresses leased', fmtNum(s.leases_active)) : null,
			s.admin_logins_failed !== undefined ? tile('Failed admin sign-ins', fmtNum(s.admin_logins_failed)) : null,
			Array.isArray(s.unavailable) && s.unavailable.length
				? h('p', {class: 'tiles-note muted'}, `Not reported by the gateway right now: ${s.unavailable.join(', ')}. Those counters show –.`)
				: null);
		drawCharts();
		const list = Array.isArray(s.interfaces) ? s.interfaces : [];
		replace(ifaces, dataTable({
			caption: 'Interface counters',
			columns: [
				{label: 'Interface', get: (r) => r.nameif || r.name || r.hw_name},
				{label: 'Linux', get: (r) => r.linux_name},
				{label: 'State', get: (r) => r.state || (r.up === undefined ? null : (r.up ? 'up' : 'down'))},
				{label: 'Address', get: (r) => r.address},
				{label: 'RX bytes', class: 'num', get: (r) => fmtBytes(r.rx_bytes)},
				{label: 'TX bytes', class: 'num', get: (r) => fmtBytes(r.tx_bytes)},
				{label: 'RX packets', class: 'num', get: (r) => fmtNum(r.rx_packets)},
				{label: 'TX packets', class: 'num', get: (r) => fmtNum(r.tx_packets)},
				{label: 'Errors', class: 'num', get: (r) => fmtNum((Number(r.rx_errors) || 0) + (Number(r.tx_errors) || 0))},
			],
			rows: list,
			empty: 'No interfaces reported.',
		}));
	}

	async function loadHealth() {
		try {
			const rows = await api.get('/aaa/health');
			const list = Array.isArray(rows) ? rows : (rows && rows.items) || [];
			replace(health, dataTable({
				caption: 'AAA servers',
				columns: [
					{label: 'Server', get: (r) => r.server},
					{label: 'Group', get: (r) => r.group},
					{label: 'State', get: (r) => h('span', {class: `badge ${r.state === 'up' ? 'ok' : 'bad'}`}, r.state)},
					{label: 'Latency', class: 'num', get: (r) => (r.latency_ms === undefined || r.latency_ms === null ? null : `${r.latency_ms} ms`)},
					{label: 'Last error', get: (r) => r.last_error},
				],
				rows: list,
				empty: 'No AAA servers configured.',
			}));
		} catch (e) {
			if (e.status === 401) throw e;
			replace(health, errorBox(e));
		}
	}

	async function loadByUser() {
		try {
			const page = await api.get('/accounting', {type: 'stop', offset: 0, limit: 500});
			const items = (page && page.items) || [];
			const sums = new Map();
			for (const r of items) {
				const u = r.username || r.user || '(unknown)';
				sums.set(u, (sums.get(u) || 0) + (Number(r.bytes_in) || 0) + (Number(r.bytes_out) || 0));
			}
			const bars = [...sums].map(([label, value]) => ({label, value})).sort((a, b) => b.value - a.value).slice(0, 10);
			replace(byUser,
				barChart({title: 'Bytes in + out per user (stop records)', bars, fmt: fmtBytes,
					width: Math.max(300, Math.min(560, byUser.clientWidth || 560))}),
				h('p', {class: 'muted'}, `From the latest ${fmtNum(items.length)} of ${fmtNum(page.total)} stop records; top 10 users.`));
		} catch (e) {
			if (e.status === 401) throw e;
			replace(byUser, errorBox(e));
		}
	}

	function addEvent(type, data) {
		let summary = '';
		if (data && typeof data === 'object') {
			const bits = [];
			for (const k of ['user', 'username', 'address', 'assigned_address', 'peer', 'service', 'record_type', 'actor']) {
				if (data[k] !== undefined && data[k] !== null) bits.push(`${k}=${data[k]}`);
			}
			summary = bits.join(' ');
		}
		events.prepend(h('li', null, h('time', null, fmtTime(Date.now())), ' ', h('strong', null, type), summary ? ` ${summary}` : ''));
		while (events.children.length > 50) events.lastChild.remove();
	}

	async function refreshAll() {
		await Promise.all([loadStats(), loadHealth(), loadByUser()]);
	}

	function schedule() {
		if (stopped) return;
		window.clearTimeout(timer);
		timer = window.setTimeout(async () => {
			// a stream closed by an HTTP error is not retried by the browser: reopen it
			if (es && es.readyState === 2) {
				es.close();
				connect();
			}
			try {
				await loadStats();
				await loadHealth();
			} catch (e) {
				return; // 401: the app has gone to the login page
			}
			schedule();
		}, streamOpen ? POLL_LIVE_MS : POLL_FALLBACK_MS);
	}

	function connect() {
		if (typeof EventSource === 'undefined') {
			live.textContent = 'polling';
			return;
		}
		es = new EventSource(`${BASE}/events`);
		es.addEventListener('open', () => {
			streamOpen = true;
			live.textContent = 'live';
			live.className = 'badge ok';
		});
		es.addEventListener('error', () => {
			streamOpen = false;
			live.textContent = 'polling (event stream unavailable)';
			live.className = 'badge warn';
			// EventSource retries by itself; /stats polling covers the gap.
		});
		let pending = null;
		const onEvent = (ev) => {
			let data = null;
			try {
				data = JSON.parse(ev.data);
			} catch (e) {
				data = null;
			}
			addEvent(ev.type, data);
			window.clearTimeout(pending);
			pending = window.setTimeout(() => {
				loadStats().catch(() => {});
				if (ev.type === 'accounting') loadByUser().catch(() => {});
			}, 250);
		};
		for (const t of ['tunnel-up', 'tunnel-down', 'uauth-added', 'uauth-removed', 'accounting', 'config-applied', 'message'])
			es.addEventListener(t, onEvent);
	}

	try {
		await refreshAll();
	} catch (e) {
		if (e.status === 401) throw e;
		root.append(h('p', {class: 'error-box', role: 'alert'}, errorText(e)));
	}
	connect();
	schedule();
	return () => {
		stopped = true;
		window.clearTimeout(timer);
		if (es) es.close();
	};
}
