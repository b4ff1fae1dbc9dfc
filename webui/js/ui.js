// Shared widgets: status/error announcements (aria-live), confirm dialog, tables with captions,
// pagers and forms whose API validation messages appear next to the named field.
import {h, clear, newId} from './dom.js';

let announceTimer = null;

// ---- status line (one polite live region, one assertive for errors) ----
export function announce(message, kind = 'info') {
	const region = document.getElementById(kind === 'error' ? 'status-error' : 'status');
	const other = document.getElementById(kind === 'error' ? 'status' : 'status-error');
	if (other) other.textContent = '';
	if (!region) return;
	region.textContent = '';
	window.clearTimeout(announceTimer);
	// A fresh text node makes screen readers announce repeated messages too.
	window.setTimeout(() => {
		region.textContent = message;
	}, 10);
	// Info messages fade after a while; errors stay until the next message or page.
	if (kind !== 'error') announceTimer = window.setTimeout(() => { region.textContent = ''; }, 6000);
}

export function clearStatus() {
	for (const id of ['status', 'status-error']) {
		const el = document.getElementById(id);
		if (el) el.textContent = '';
	}
}

export function errorText(err) {
	if (!err) return 'Unknown error';
	if (err.name === 'ApiError') {
		const where = err.field ? ` (field ${err.field})` : '';
		return `${err.message}${where}`;
	}
	return err.message || String(err);
}

// Inline error box for a page section (in addition to the global live region).
export function errorBox(err) {
	return h('p', {class: 'error-box', role: 'alert'}, errorText(err));
}

// ---- dialogs ----
// A modal <dialog>: Escape closes it (browser default), focus returns to the opener.
export function openDialog({title, body, actions, wide, onClose}) {
	const opener = document.activeElement;
	const titleId = newId('dlg-title');
	const dlg = h('dialog', {class: wide ? 'dialog wide' : 'dialog', 'aria-labelledby': titleId});
	const close = (value) => {
		if (dlg.open) dlg.close(value || '');
	};
	dlg.append(
		h('div', {class: 'dialog-head'},
			h('h2', {id: titleId}, title),
			h('button', {type: 'button', class: 'icon', 'aria-label': 'Close dialog', onclick: () => close('cancel')},
				'×')),
		h('div', {class: 'dialog-body'}, body),
		actions ? h('div', {class: 'dialog-actions'}, actions) : null);
	dlg.addEventListener('close', () => {
		dlg.remove();
		if (onClose) onClose(dlg.returnValue);
		if (opener && typeof opener.focus === 'function' && document.contains(opener)) opener.focus();
	});
	document.body.append(dlg);
	dlg.showModal();
	return {dialog: dlg, close};
}

// Resolves true when the person confirms, false on Cancel / Escape.
export function confirmDialog({title, message, confirmLabel = 'Confirm', danger = true, details}) {
	return new Promise((resolve) => {
		let result = false;
		const ok = h('button', {type: 'button', class: danger ? 'danger' : 'primary'}, confirmLabel);
		const cancel = h('button', {type: 'button'}, 'Cancel');
		const d = openDialog({
			title,
			body: [h('p', null, message), details || null],
			actions: [cancel, ok],
			onClose: () => resolve(result),
		});
		ok.addEventListener('click', () => {
			result = true;
			d.close('ok');
		});
		cancel.addEventListener('click', () => d.close('cancel'));
		cancel.focus();
	});
}

// ---- tables ----
// columns: [{label, get: (row) => text|Node, class, sortable}]
export function dataTable({caption, columns, rows, empty = 'Nothing to show.', rowClass}) {
	const table = h('table', {class: 'data'},
		h('caption', null, caption),
		h('thead', null, h('tr', null, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label)))));
	const tbody = h('tbody');
	if (!rows || rows.length === 0) {
		tbody.append(h('tr', null, h('td', {colspan: columns.length, class: 'empty'}, empty)));
	} else {
		for (const r of rows) {
			const tr = h('tr', {class: rowClass ? rowClass(r) : null});
			columns.forEach((c, i) => {
				let v = c.get(r);
				if (v === undefined || v === null || v === '') v = '–';
				const cell = i === 0 && !c.noHeader
					? h('th', {scope: 'row', class: c.class, 'data-label': c.label}, v)
					: h('td', {class: c.class, 'data-label': c.label}, v);
				tr.append(cell);
			});
			tbody.append(tr);
		}
	}
	table.append(tbody);
	return h('div', {class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption}, table);
}

// Server-side paging controls. onPage(newOffset).
export function pager({offset, limit, total, onPage, label = 'records'}) {
	const from = total === 0 ? 0 : offset + 1;
	const to = Math.min(offset + limit, total);
	const prev = h('button', {type: 'button', disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit))},
		'‹ Previous');
	const next = h('button', {type: 'button', disabled: offset + limit >= total, onclick: () => onPage(offset + limit)},
		'Next ›');
	const first = h('button', {type: 'button', disabled: offset <= 0, onclick: () => onPage(0)}, '« First');
	const lastOff = total > 0 ? Math.floor((total - 1) / limit) * limit : 0;
	const last = h('button', {type: 'button', disabled: offset + limit >= total, onclick: () => onPage(lastOff)},
		'Last »');
	return h('nav', {class: 'pager', 'aria-label': `Pages of ${label}`},
		first, prev,
		h('span', {class: 'pager-info'}, `${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${Number(total).toLocaleString('en-US')} ${label}`),
		next, last);
}

// ---- forms ----
// A labelled control with a slot for its error message (aria-describedby points at it).
export function field({name, label, control, help, warn}) {
	const id = control.id || newId(`f-${name}`);
	control.id = id;
	control.name = control.name || name;
	const errId = `${id}-err`;
	const helpId = help ? `${id}-help` : null;
	const warnId = `${id}-warn`;
	control.setAttribute('aria-describedby', [helpId, errId, warnId].filter(Boolean).join(' '));
	const isCheck = control.type === 'checkbox';
	const lab = h('label', {for: id}, label);
	return h('div', {class: isCheck ? 'field check' : 'field', 'data-field': name},
		isCheck ? [control, lab] : [lab, control],
		help ? h('p', {class: 'help', id: helpId}, help) : null,
		h('p', {class: 'field-error', id: errId, hidden: true}),
		h('p', {class: 'field-warning', id: warnId, role: 'note', hidden: !warn}, warn || ''));
}

export function setFieldWarning(container, name, text) {
	const f = container.querySelector(`[data-field="${CSS.escape(name)}"]`);
	if (!f) return;
	const w = f.querySelector(':scope > .field-warning');
	w.textContent = text || '';
	w.hidden = !text;
}

export function clearFieldErrors(form) {
	for (const p of form.querySelectorAll('.field-error')) {
		p.textContent = '';
		p.hidden = true;
	}
	for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
	const fe = form.querySelector(':scope > .form-error');
	if (fe) {
		fe.textContent = '';
		fe.hidden = true;
	}
}

function markField(f, err) {
	const p = f.querySelector(':scope > .field-error');
	p.textContent = err.message;
	p.hidden = false;
	const c = f.querySelector('input, select, textarea');
	if (c) {
		c.setAttribute('aria-invalid', 'true');
		c.focus();
	}
	const lab = f.querySelector('label, .rows-label');
	announce(`${lab ? lab.textContent : err.field}: ${err.message}`, 'error');
	return true;
}

// Shows an ApiError next to its field (err.field, also tried without an _id suffix and with
// aliases), else at the top of the form. Returns true when a field was found.
export function showFormError(form, err, aliases = {}) {
	clearFieldErrors(form);
	const names = [];
	if (err && err.field) {
		names.push(err.field);
		if (aliases[err.field]) names.push(aliases[err.field]);
		if (err.field.endsWith('_id')) names.push(err.field.slice(0, -3));
		else names.push(`${err.field}_id`);
		const base = err.field.split(/[.[]/)[0];
		if (base !== err.field) names.push(base);
	}
	// inline arrays: "hosts[1].address" -> the address field of the second host
	const m = err && err.field ? err.field.match(/^(\w+)\[(\d+)\]\.(\w+)$/) : null;
	if (m) {
		const rows = form.querySelectorAll(`[data-field="${CSS.escape(m[1])}"] .row-item`);
		const row = rows[Number(m[2])];
		const f = row ? row.querySelector(`[data-field="${CSS.escape(`${m[1]}.${m[3]}`)}"]`) : null;
		if (f) return markField(f, err);
	}
	for (const n of names) {
		const f = form.querySelector(`[data-field="${CSS.escape(n)}"]`);
		if (f) return markField(f, err);
	}
	let fe = form.querySelector(':scope > .form-error');
	if (!fe) {
		fe = h('p', {class: 'form-error', role: 'alert'});
		form.prepend(fe);
	}
	fe.textContent = errorText(err);
	fe.hidden = false;
	announce(errorText(err), 'error');
	return false;
}

export function pageHeader(title, ...extra) {
	return h('div', {class: 'page-head'}, h('h1', {id: 'page-title', tabindex: '-1'}, title), extra);
}

export function section(title, ...children) {
	const id = newId('sec');
	return h('section', {class: 'card', 'aria-labelledby': id}, h('h2', {id}, title), children);
}

export function busy(button, on) {
	button.disabled = on;
	button.setAttribute('aria-busy', on ? 'true' : 'false');
}

export function replace(el, ...children) {
	clear(el);
	el.append(...children.flat().filter((c) => c !== null && c !== undefined));
	return el;
}
