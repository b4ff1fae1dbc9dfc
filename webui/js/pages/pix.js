// PIX configuration text: paste or upload, dry-run report, apply; running config view/download.
import {h, fmtNum} from '../dom.js';
import {request} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, field, announce, errorText, confirmDialog, busy} from '../ui.js';

const MAX_UPLOAD = 1024 * 1024; // the API refuses bodies over 1 MiB

function list(title, items) {
	const arr = Array.isArray(items) ? items : [];
	return h('div', {class: 'report-list'},
		h('h3', null, `${title} (${arr.length})`),
		arr.length ? h('ul', null, arr.map((x) => h('li', null, typeof x === 'string' ? x : describe(x)))) : h('p', {class: 'muted'}, 'none'));
}

// "isakmp-key:0.0.0.0/0.0.0.0", "vpngroup:vpn3000", "aaa-server:AuthInbound/10.89.129.134"
const SECRET_PAGES = {'isakmp-key': 'isakmp-keys', vpngroup: 'vpngroups', 'aaa-server': 'aaa-server-groups', 'local-user': 'local-users'};

function secretsList(items) {
	const arr = Array.isArray(items) ? items : [];
	return h('div', {class: 'report-list'},
		h('h3', null, `Secrets still needed (${arr.length})`),
		arr.length ? h('ul', null, arr.map((x) => {
			const text = typeof x === 'string' ? x : describe(x);
			const page = SECRET_PAGES[text.split(':')[0]];
			return h('li', null, text, page ? [' – ', h('a', {href: `#/config/${page}`}, 'set it')] : null);
		})) : h('p', {class: 'muted'}, 'none'));
}

function describe(x) {
	if (x === null || typeof x !== 'object') return String(x);
	const parts = [];
	if (x.line !== undefined) parts.push(`line ${x.line}:`);
	for (const k of ['resource', 'object', 'kind', 'name', 'text', 'reason', 'secret', 'field']) if (x[k] !== undefined && x[k] !== null) parts.push(String(x[k]));
	return parts.length ? parts.join(' ') : JSON.stringify(x);
}

export async function render(root) {
	root.append(pageHeader('PIX configuration'));

	// ---- import ----
	const text = h('textarea', {rows: 14, spellcheck: 'false', class: 'mono', autocomplete: 'off', wrap: 'off'});
	const file = h('input', {type: 'file', accept: '.cfg,.txt,text/plain'});
	const dry = h('button', {type: 'button', class: 'primary'}, 'Dry run');
	const apply = h('button', {type: 'button', class: 'danger', disabled: true}, 'Apply');
	const report = h('div', {class: 'report', 'aria-live': 'polite'});
	let checked = null; // the text the last dry run was for

	file.addEventListener('change', () => {
		const f = file.files && file.files[0];
		if (!f) return;
		if (f.size > MAX_UPLOAD) {
			announce(`${f.name} is ${fmtNum(f.size)} bytes; the gateway accepts at most ${fmtNum(MAX_UPLOAD)}.`, 'error');
			return;
		}
		f.text().then((t) => {
			text.value = t;
			text.dispatchEvent(new Event('input'));
			announce(`Loaded ${f.name} (${fmtNum(t.split('\n').length)} lines). Run a dry run to see what would change.`);
		}).catch((e) => announce(`Cannot read ${f.name}: ${e.message}`, 'error'));
	});
	text.addEventListener('input', () => {
		apply.disabled = checked === null || checked !== text.value;
	});

	function showReport(r, applied) {
		// the translator names the per-line list "entries"; the contract said "lines"
		const lines = Array.isArray(r.lines) ? r.lines : (Array.isArray(r.entries) ? r.entries : []);
		const notable = lines.filter((l) => l.kind && l.kind !== 'mapped' && l.kind !== 'ignored');
		const total = r.counts && Number.isFinite(Number(r.counts.lines)) ? Number(r.counts.lines) : lines.length;
		const counts = r.counts && typeof r.counts === 'object' ? Object.entries(r.counts) : [];
		replace(report,
			h('p', {class: applied ? 'ok-box' : (r.stopped ? 'error-box' : 'info-box'), role: 'status'},
				applied ? 'Applied: the gateway now runs this configuration.'
					: r.stopped ? 'Stopped: the text has errors (see below); nothing would be imported.'
						: 'Dry run: nothing was changed. Review the report, then Apply.'),
			counts.length ? h('dl', {class: 'counts'}, counts.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, fmtNum(v))])) : null,
			h('div', {class: 'report-grid'},
				list('Added', r.added), list('Changed', r.changed), list('Removed', r.removed),
				secretsList(r.secrets_needed)),
			dataTable({
				caption: `Lines needing attention (${notable.length} of ${total})`,
				columns: [
					{label: 'Line', class: 'num', get: (l) => l.line},
					{label: 'Kind', get: (l) => h('span', {class: `badge kind-${String(l.kind).replace(/[^a-z]/g, '')}`}, l.kind)},
					{label: 'Text', class: 'mono', get: (l) => l.text},
					{label: 'Reason', get: (l) => l.reason},
				],
				rows: notable,
				empty: 'Every line maps to the model.',
			}));
	}

	async function send(doApply) {
		const body = text.value;
		if (!body.trim()) {
			announce('Paste a PIX configuration or choose a file first.', 'error');
			text.focus();
			return;
		}
		const btn = doApply ? apply : dry;
		busy(btn, true);
		try {
			const r = await request('POST', '/config/pix', {body, query: {apply: doApply ? 'true' : 'false'}});
			showReport(r || {}, Boolean(r && r.applied));
			if (doApply) {
				checked = null;
				apply.disabled = true;
				announce(r && r.applied ? 'Configuration applied.' : 'The gateway did not apply the configuration; see the report.', r && r.applied ? 'info' : 'error');
				loadRunning().catch(() => {});
			} else {
				checked = body;
				apply.disabled = false;
				announce('Dry run finished. Review the report.');
			}
		} catch (e) {
			if (e.status === 401) return;
			replace(report, errorBox(e));
			announce(errorText(e), 'error');
		} finally {
			busy(btn, false);
			if (!doApply) apply.disabled = checked === null || checked !== text.value;
		}
	}

	dry.addEventListener('click', () => send(false));
	apply.addEventListener('click', async () => {
		const ok = await confirmDialog({title: 'Apply PIX configuration',
			message: 'Replace the running configuration with this one? Everything the dry run lists as removed is deleted, and VPN clients may be disconnected if their policies change.',
			confirmLabel: 'Apply'});
		if (ok) send(true);
	});

	root.append(section('Import',
		h('p', {class: 'muted'}, 'Paste the output of ', h('code', null, 'write terminal'), ' or ', h('code', null, 'show running-config'),
			', or choose a saved file. A dry run shows what would be added, changed and removed, and which lines are not supported, before anything changes.'),
		field({name: 'pix-file', label: 'Configuration file', control: file}),
		field({name: 'pix-text', label: 'Configuration text', control: text}),
		h('div', {class: 'actions'}, dry, apply),
		report));

	// ---- running config ----
	const showSecrets = h('input', {type: 'checkbox'});
	const reload = h('button', {type: 'button'}, 'Reload');
	const download = h('button', {type: 'button'}, 'Download');
	const pre = h('pre', {class: 'mono running', tabindex: '0', 'aria-label': 'Running configuration'});
	const runBox = h('div');
	let running = '';

	async function loadRunning() {
		try {
			running = await request('GET', '/config/pix', {query: {show_secrets: showSecrets.checked ? 'true' : ''}});
			pre.textContent = String(running);
			replace(runBox, pre);
		} catch (e) {
			if (e.status === 401) throw e;
			replace(runBox, errorBox(e));
		}
	}

	download.addEventListener('click', () => {
		const blob = new Blob([running], {type: 'text/plain'});
		const url = URL.createObjectURL(blob);
		const a = h('a', {href: url, download: `running-config${showSecrets.checked ? '-with-secrets' : ''}.cfg`, hidden: true});
		document.body.append(a);
		a.click();
		a.remove();
		window.setTimeout(() => URL.revokeObjectURL(url), 1000);
	});
	reload.addEventListener('click', () => loadRunning().then(() => announce('Running configuration reloaded.')).catch(() => {}));
	showSecrets.addEventListener('change', async () => {
		if (showSecrets.checked) {
			const ok = await confirmDialog({title: 'Show secrets',
				message: 'Show pre-shared keys, group passwords and server keys in clear text on this screen? Anyone who can see your screen or the downloaded file learns them.',
				confirmLabel: 'Show secrets'});
			if (!ok) {
				showSecrets.checked = false;
				return;
			}
		}
		loadRunning().catch(() => {});
	});

	root.append(section('Running configuration',
		h('div', {class: 'toolbar'},
			field({name: 'show-secrets', label: 'Show secrets (keys and passwords in clear)', control: showSecrets}),
			reload, download),
		runBox));
	await loadRunning();
}
