// Configuration pages, generated from the resource descriptions in resources.js: a paged table
// per resource, a form dialog for create/edit whose API validation errors appear next to the
// named field, confirmation before deletes, and plain-language warnings for weak settings.
import {h, newId} from '../dom.js';
import {api, seg} from '../api.js';
import {RESOURCES, GROUPS} from '../resources.js';
import {pageHeader, section, dataTable, replace, errorBox, pager, field, announce, errorText, openDialog,
	confirmDialog, showFormError, setFieldWarning, busy} from '../ui.js';

const PAGE = 50;

// 'text `pix command` text' -> text nodes and <code> elements
function about(text) {
	return String(text).split('`').map((part, i) => (i % 2 ? h('code', null, part) : part));
}

function cap(s) {
	return s.charAt(0).toUpperCase() + s.slice(1);
}

function idOf(desc, item) {
	return item[desc.idKey || 'id'];
}

function refCache() {
	const cache = new Map();
	return async (ref) => {
		if (!cache.has(ref.res)) {
			cache.set(ref.res, api.get(`/${ref.res}`, {limit: 1000}).then((p) => ((p && p.items) || [])
				.map((i) => i[ref.key]).filter((v) => v !== undefined && v !== null && v !== '')));
		}
		return cache.get(ref.res);
	};
}

function cellValue(f, item) {
	if (!f) return null;
	const v = item[f.name];
	switch (f.type) {
	case 'bool': return v ? 'yes' : 'no';
	case 'secret':
		if (item[`${f.name}_set`]) return 'set';
		// configured but the value is missing (e.g. imported as ******** from a PIX)
		return f.wantedFlag && item[f.wantedFlag] ? h('strong', {class: 'needs-secret'}, 'needed: not set yet') : 'not set';
	case 'list': return Array.isArray(v) ? v.join(' ') : v;
	case 'rows': {
		if (!Array.isArray(v)) return null;
		if (!f.summary || v.length === 0) return `${v.length}`;
		const shown = v.slice(0, 6).map((x) => h('li', null, f.summary(x)));
		if (v.length > 6) shown.push(h('li', {class: 'muted'}, `… ${v.length - 6} more`));
		return h('ul', {class: 'row-summary mono'}, shown);
	}
	default: return v;
	}
}

// ---- form controls from field descriptions ----
function makeControl(f, value, {editing, refs, item}) {
	let c;
	switch (f.type) {
	case 'bool':
		c = h('input', {type: 'checkbox', checked: value === undefined ? Boolean(f.default) : Boolean(value)});
		break;
	case 'select': {
		const opts = f.options.includes(String(value ?? '')) || value === undefined || value === null ? f.options : [...f.options, String(value)];
		c = h('select', null, opts.map((o) => h('option', {value: o, selected: String(value ?? f.options[0]) === o}, o === '' ? '(none)' : o)));
		break;
	}
	case 'ref': {
		const names = refs.get(f.ref.res) || [];
		const cur = value ?? '';
		const opts = [''].concat(names);
		if (cur !== '' && !names.includes(cur)) opts.push(cur);
		c = h('select', null, opts.map((o) => h('option', {value: o, selected: o === cur}, o === '' ? '(none)' : o)));
		break;
	}
	case 'secret':
		c = h('input', {type: 'password', autocomplete: 'new-password',
			placeholder: item && item[`${f.name}_set`] ? 'set; leave blank to keep' : 'not set'});
		break;
	case 'textarea':
		c = h('textarea', {rows: 3}, value ?? '');
		break;
	case 'list':
		c = h('input', {type: 'text', value: Array.isArray(value) ? value.join(' ') : (value ?? '')});
		break;
	case 'int':
		c = h('input', {type: 'text', inputmode: 'numeric', value: value ?? ''});
		break;
	case 'ip':
	case 'mask':
		c = h('input', {type: 'text', inputmode: 'decimal', value: value ?? '', spellcheck: 'false', autocomplete: 'off',
			placeholder: f.type === 'mask' ? '255.255.255.0' : '192.0.2.1'});
		break;
	default:
		c = h('input', {type: 'text', value: value ?? '', spellcheck: 'false', autocomplete: 'off'});
	}
	if (f.placeholder && !c.placeholder) c.placeholder = f.placeholder;
	if (f.required) c.setAttribute('aria-required', 'true');
	if (editing && f.readonlyOnEdit) {
		if (c.tagName === 'SELECT') c.disabled = true;
		else c.readOnly = true;
	}
	return c;
}

// Reads a control as the API wants it. Returns undefined for "leave out".
function readControl(f, c) {
	if (f.type === 'bool') return c.checked;
	const raw = c.value.trim();
	if (raw === '') return undefined;
	if (f.type === 'int' || f.int) return /^-?\d+$/.test(raw) ? Number(raw) : raw; // let the API name bad values
	if (f.type === 'list') return raw.split(/[\s,]+/).filter(Boolean);
	return raw;
}

function rowsEditor(f, value, ctx) {
	const list = h('div', {class: 'rows-list'});
	const captionId = newId('rows');
	const addRow = (v) => {
		const idx = list.children.length;
		const fs = h('fieldset', {class: 'row-item'}, h('legend', null, `${cap(f.one)} ${idx + 1}`));
		for (const sf of f.fields) {
			const c = makeControl(sf, v ? v[sf.name] : undefined, {...ctx, item: v});
			c.dataset.sub = sf.name;
			fs.append(field({name: `${f.name}.${sf.name}`, label: sf.label, control: c}));
		}
		if (v && v.id !== undefined) fs.dataset.id = String(v.id);
		fs.append(h('button', {type: 'button', class: 'small danger', onclick: () => {
			fs.remove();
			[...list.children].forEach((x, i) => { x.querySelector('legend').textContent = `${cap(f.one)} ${i + 1}`; });
			add.focus();
		}}, `Remove ${f.one} ${idx + 1}`));
		list.append(fs);
		return fs;
	};
	const add = h('button', {type: 'button', class: 'small', onclick: () => {
		const fs = addRow(null);
		const first = fs.querySelector('input, select');
		if (first) first.focus();
	}}, `Add ${f.one}`);
	for (const v of Array.isArray(value) ? value : []) addRow(v);
	const wrap = h('div', {class: 'field rows', 'data-field': f.name, role: 'group', 'aria-labelledby': captionId},
		h('p', {id: captionId, class: 'rows-label'}, f.label), list, add,
		h('p', {class: 'field-error', id: `${captionId}-err`, hidden: true}),
		h('p', {class: 'field-warning', role: 'note', hidden: true}));
	wrap.readValue = () => [...list.children].map((fs) => {
		const o = {};
		if (fs.dataset.id) o.id = /^\d+$/.test(fs.dataset.id) ? Number(fs.dataset.id) : fs.dataset.id;
		for (const sf of f.fields) {
			const c = fs.querySelector(`[data-sub="${sf.name}"]`);
			const v = readControl(sf, c);
			if (v !== undefined) o[sf.name] = v;
		}
		return o;
	});
	return wrap;
}

async function openForm(desc, resName, item, onSaved) {
	const editing = Boolean(item);
	const getRef = refCache();
	const refs = new Map();
	const refFields = desc.fields.flatMap((f) => (f.type === 'rows' ? f.fields : [f])).filter((f) => f.type === 'ref');
	await Promise.all(refFields.map(async (f) => {
		try {
			refs.set(f.ref.res, await getRef(f.ref));
		} catch (e) {
			if (e.status === 401) throw e;
			refs.set(f.ref.res, []);
		}
	}));
	const form = h('form', {class: 'resource-form', novalidate: true, id: `form-${resName}`});
	const controls = new Map();
	if (editing && Array.isArray(item.warnings) && item.warnings.length)
		form.append(h('div', {class: 'warning-box', role: 'note'}, h('strong', null, 'The gateway warns: '),
			h('ul', null, item.warnings.map((w) => h('li', null, w)))));
	for (const f of desc.fields) {
		if (f.type === 'rows') {
			const w = rowsEditor(f, item ? item[f.name] : [], {editing, refs});
			controls.set(f.name, w);
			form.append(w);
			continue;
		}
		const c = makeControl(f, item ? item[f.name] : undefined, {editing, refs, item});
		controls.set(f.name, c);
		form.append(field({name: f.name, label: f.required ? `${f.label} *` : f.label, control: c, help: f.help}));
	}
	const values = () => {
		const v = {};
		for (const f of desc.fields) {
			const c = controls.get(f.name);
			v[f.name] = f.type === 'rows' ? c.readValue() : readControl(f, c);
		}
		return v;
	};
	const updateWarnings = () => {
		if (!desc.warn) return;
		const w = desc.warn(values(), item) || {};
		for (const f of desc.fields) setFieldWarning(form, f.name, w[f.name] || '');
	};
	form.addEventListener('input', updateWarnings);
	form.addEventListener('change', updateWarnings);
	updateWarnings();

	const save = h('button', {type: 'submit', class: 'primary', form: form.id}, editing ? 'Save changes' : 'Create');
	const cancel = h('button', {type: 'button'}, 'Cancel');
	const d = openDialog({title: editing ? `Edit ${desc.label(item)} (${desc.title})` : `Add to ${desc.title}`,
		body: [h('p', {class: 'muted'}, about(desc.about)), form], actions: [cancel, save], wide: true});
	cancel.addEventListener('click', () => d.close('cancel'));
	const firstInput = form.querySelector('input:not([readonly]), select:not([disabled]), textarea');
	if (firstInput) firstInput.focus();

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const v = values();
		const body = {};
		for (const f of desc.fields) {
			const val = v[f.name];
			if (editing && f.readonlyOnEdit) continue;
			if (val === undefined) {
				// cleared on edit: send null so the API unsets it; secrets left blank stay as they are
				if (editing && f.type !== 'secret' && item[f.name] !== undefined && item[f.name] !== null) body[f.name] = null;
				continue;
			}
			body[f.name] = val;
		}
		// settings that weaken security are saved only after the person confirms, with the reasons
		const weak = desc.warn ? Object.entries(desc.warn(v, item) || {}).filter(([, w]) => w) : [];
		if (weak.length) {
			const ok = await confirmDialog({title: 'This weakens security',
				message: 'These settings make the gateway easier to attack:',
				details: h('ul', {class: 'weak-list'}, weak.map(([name, w]) => h('li', null,
					h('strong', null, `${(desc.fields.find((x) => x.name === name) || {label: name}).label}: `), w))),
				confirmLabel: 'Save anyway'});
			if (!ok) return;
		}
		busy(save, true);
		try {
			const saved = editing
				? await api.patch(`/${resName}/${seg(idOf(desc, item))}`, body)
				: await api.post(`/${resName}`, body);
			d.close('ok');
			announce(`${editing ? 'Saved' : 'Created'} ${desc.label(saved || {...item, ...body})}.`);
			if (saved && Array.isArray(saved.warnings) && saved.warnings.length)
				announce(`Saved, with warnings: ${saved.warnings.join(' ')}`);
			onSaved();
		} catch (e) {
			if (e.status === 401) {
				d.close('cancel');
				return;
			}
			showFormError(form, e);
		} finally {
			busy(save, false);
		}
	});
}

function renderIndex(root) {
	root.append(pageHeader('Configuration'),
		h('p', {class: 'muted'}, 'Every part of the gateway configuration model. Changes are applied to the running gateway at once; a change the gateway cannot apply is rolled back and its reason shown.'),
		h('div', {class: 'config-index'}, GROUPS.map((g) => section(g.title,
			h('ul', {class: 'link-list'}, g.items.map((k) => h('li', null,
				h('a', {href: `#/config/${k}`}, RESOURCES[k].title), ' ', h('span', {class: 'muted'}, about(RESOURCES[k].about)))))))));
}

function subnav(current) {
	return h('nav', {class: 'subnav', 'aria-label': 'Configuration sections'},
		h('ul', null, GROUPS.flatMap((g) => g.items).map((k) => h('li', null,
			h('a', {href: `#/config/${k}`, 'aria-current': k === current ? 'page' : null}, RESOURCES[k].title)))));
}

export async function render(root, route) {
	const resName = route.rest[0];
	if (!resName) {
		renderIndex(root);
		return;
	}
	const desc = RESOURCES[resName];
	if (!desc) {
		root.append(pageHeader('Configuration'), errorBox(new Error(`Unknown configuration section '${resName}'.`)));
		return;
	}
	const add = h('button', {type: 'button', class: 'primary', 'aria-label': `Add to ${desc.title}`}, 'Add');
	const sub = subnav(resName);
	root.append(sub, pageHeader(desc.title, add), h('p', {class: 'muted'}, about(desc.about)));
	const cur = sub.querySelector('[aria-current="page"]');
	if (cur && sub.querySelector('ul').scrollWidth > sub.clientWidth) cur.scrollIntoView({block: 'nearest', inline: 'center'});
	const search = h('input', {type: 'search', value: route.query.get('q') || ''});
	const searchForm = h('form', {class: 'filters', role: 'search'},
		field({name: 'q', label: 'Search', control: search}),
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Search')));
	const tableBox = h('div');
	root.append(section(desc.title, searchForm, tableBox));
	let offset = 0;
	const byName = new Map(desc.fields.map((f) => [f.name, f]));

	async function remove(item) {
		const ok = await confirmDialog({title: `Delete from ${desc.title}`,
			message: `Delete ${desc.label(item)}? The change is applied to the running gateway immediately.`,
			confirmLabel: 'Delete'});
		if (!ok) return;
		try {
			await api.del(`/${resName}/${seg(idOf(desc, item))}`);
			announce(`Deleted ${desc.label(item)}.`);
			await load();
		} catch (e) {
			if (e.status !== 401) announce(errorText(e), 'error');
		}
	}

	async function load() {
		let page;
		try {
			page = await api.get(`/${resName}`, {offset, limit: PAGE, q: search.value.trim()});
		} catch (e) {
			if (e.status === 401) throw e;
			replace(tableBox, errorBox(e));
			return;
		}
		const items = (page && page.items) || [];
		const total = Number(page.total ?? items.length);
		const columns = desc.columns.map((name) => ({label: (byName.get(name) || {label: name}).label,
			get: (r) => cellValue(byName.get(name) || {name}, r)}));
		columns.push({label: 'Warnings', get: (r) => (Array.isArray(r.warnings) && r.warnings.length
			? h('ul', {class: 'warn-list'}, r.warnings.map((w) => h('li', null, w))) : null)});
		columns.push({label: 'Actions', get: (r) => h('div', {class: 'row-actions'},
			h('button', {type: 'button', class: 'small', 'aria-label': `Edit ${desc.label(r)}`,
				onclick: () => openForm(desc, resName, r, () => load().catch(() => {})).catch((e) => announce(errorText(e), 'error'))}, 'Edit'),
			h('button', {type: 'button', class: 'small danger', 'aria-label': `Delete ${desc.label(r)}`,
				onclick: () => remove(r)}, 'Delete'))});
		replace(tableBox,
			total > PAGE ? pager({offset, limit: PAGE, total, label: 'items', onPage: (o) => { offset = o; load().catch(() => {}); }}) : null,
			dataTable({caption: `${desc.title} (${total})`, columns, rows: items,
				rowClass: (r) => (Array.isArray(r.warnings) && r.warnings.length ? 'has-warning' : null),
				empty: search.value.trim() ? 'Nothing matches the search.' : 'None configured yet.'}));
	}

	add.addEventListener('click', () => openForm(desc, resName, null, () => load().catch(() => {}))
		.catch((e) => announce(errorText(e), 'error')));
	searchForm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		offset = 0;
		load().catch(() => {});
	});
	await load();
}

