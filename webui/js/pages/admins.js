// Administrators and API tokens. A new token is shown exactly once.
import {h, fmtTime} from '../dom.js';
import {api, seg, currentUser} from '../api.js';
import {pageHeader, section, dataTable, replace, errorBox, field, announce, errorText, confirmDialog, openDialog,
	showFormError, clearFieldErrors, busy} from '../ui.js';

export async function render(root) {
	root.append(pageHeader('Admins & API tokens'));
	const adminBox = h('div');
	const tokenBox = h('div');
	const tokenShown = h('div', {'aria-live': 'polite'});

	// ---- admins ----
	const aName = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false'});
	const aPass = h('input', {type: 'password', autocomplete: 'new-password'});
	const aAdd = h('button', {type: 'submit', class: 'primary'}, 'Add admin');
	const aForm = h('form', {class: 'inline-form', novalidate: true, 'aria-label': 'New admin'},
		field({name: 'name', label: 'Name', control: aName}),
		field({name: 'password', label: 'Password', control: aPass}),
		h('div', {class: 'actions'}, aAdd));

	function changePassword(a) {
		const p1 = h('input', {type: 'password', autocomplete: 'new-password'});
		const save = h('button', {type: 'submit', class: 'primary', form: 'pw-form'}, 'Change password');
		const form = h('form', {id: 'pw-form', novalidate: true}, field({name: 'password', label: 'New password', control: p1}));
		const d = openDialog({title: `Password for ${a.name}`, body: form, actions: [save]});
		p1.focus();
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			busy(save, true);
			try {
				await api.patch(`/admins/${seg(a.id)}`, {password: p1.value});
				d.close('ok');
				announce(`Password changed for ${a.name}.`);
			} catch (e) {
				if (e.status === 401) d.close('cancel');
				else showFormError(form, e);
			} finally {
				busy(save, false);
			}
		});
	}

	async function loadAdmins() {
		try {
			const p = await api.get('/admins');
			const items = Array.isArray(p) ? p : (p && p.items) || [];
			replace(adminBox, dataTable({
				caption: `Administrators (${items.length})`,
				columns: [
					{label: 'Name', get: (r) => r.name},
					{label: 'Created', get: (r) => fmtTime(r.created_at)},
					{label: 'Last sign-in', get: (r) => fmtTime(r.last_login_at)},
					{label: 'Actions', get: (r) => h('div', {class: 'row-actions'},
						h('button', {type: 'button', class: 'small', 'aria-label': `Change password of ${r.name}`, onclick: () => changePassword(r)}, 'Password'),
						h('button', {type: 'button', class: 'small danger', 'aria-label': `Delete admin ${r.name}`, onclick: async () => {
							const self = r.name === currentUser();
							const ok = await confirmDialog({title: 'Delete administrator',
								message: `Delete ${r.name}?${self ? ' This is your own account: you will be signed out.' : ''}`, confirmLabel: 'Delete'});
							if (!ok) return;
							try {
								await api.del(`/admins/${seg(r.id)}`);
								announce(`Deleted ${r.name}.`);
								await loadAdmins();
							} catch (e) {
								if (e.status !== 401) announce(errorText(e), 'error');
							}
						}}, 'Delete'))},
				],
				rows: items,
			}));
		} catch (e) {
			if (e.status === 401) throw e;
			replace(adminBox, errorBox(e));
		}
	}

	aForm.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearFieldErrors(aForm);
		busy(aAdd, true);
		try {
			await api.post('/admins', {name: aName.value.trim(), password: aPass.value});
			announce(`Added admin ${aName.value.trim()}.`);
			aName.value = '';
			aPass.value = '';
			await loadAdmins();
		} catch (e) {
			if (e.status !== 401) showFormError(aForm, e);
		} finally {
			busy(aAdd, false);
		}
	});

	// ---- tokens ----
	const tName = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false'});
	const tRo = h('input', {type: 'checkbox', checked: true});
	const tAdd = h('button', {type: 'submit', class: 'primary'}, 'Create token');
	const tForm = h('form', {class: 'inline-form', novalidate: true, 'aria-label': 'New API token'},
		field({name: 'name', label: 'Token name', control: tName}),
		field({name: 'read_only', label: 'Read-only', control: tRo}),
		h('div', {class: 'actions'}, tAdd));

	async function loadTokens() {
		try {
			const p = await api.get('/tokens');
			const items = Array.isArray(p) ? p : (p && p.items) || [];
			replace(tokenBox, dataTable({
				caption: `API tokens (${items.length})`,
				columns: [
					{label: 'Name', get: (r) => r.name},
					{label: 'Access', get: (r) => (r.read_only ? 'read-only' : 'read-write')},
					{label: 'Created', get: (r) => `${fmtTime(r.created_at)}${r.created_by ? ` by ${r.created_by}` : ''}`},
					{label: 'Last used', get: (r) => fmtTime(r.last_used_at)},
					{label: 'State', get: (r) => (r.revoked_at ? `revoked ${fmtTime(r.revoked_at)}` : 'active')},
					{label: 'Actions', get: (r) => (r.revoked_at ? null : h('button', {type: 'button', class: 'small danger',
						'aria-label': `Revoke token ${r.name}`, onclick: async () => {
							const ok = await confirmDialog({title: 'Revoke API token',
								message: `Revoke ${r.name}? Scripts using it stop working at once.`, confirmLabel: 'Revoke'});
							if (!ok) return;
							try {
								await api.del(`/tokens/${seg(r.id)}`);
								announce(`Revoked ${r.name}.`);
								await loadTokens();
							} catch (e) {
								if (e.status !== 401) announce(errorText(e), 'error');
							}
						}}, 'Revoke'))},
				],
				rows: items,
				empty: 'No API tokens.',
			}));
		} catch (e) {
			if (e.status === 401) throw e;
			replace(tokenBox, errorBox(e));
		}
	}

	tForm.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearFieldErrors(tForm);
		busy(tAdd, true);
		try {
			const t = await api.post('/tokens', {name: tName.value.trim(), read_only: tRo.checked});
			const value = h('input', {type: 'text', readonly: true, value: t.token, class: 'mono token-value', 'aria-label': `Token ${t.name}`});
			const copy = h('button', {type: 'button', onclick: async () => {
				try {
					await navigator.clipboard.writeText(t.token);
					announce('Token copied.');
				} catch (e) {
					value.select();
					announce('Select the token and copy it yourself (clipboard not available).', 'error');
				}
			}}, 'Copy');
			replace(tokenShown, h('div', {class: 'ok-box', role: 'status'},
				h('p', null, h('strong', null, `Token ${t.name} created. `), 'Copy it now: it is shown only this once and cannot be recovered.'),
				h('div', {class: 'toolbar'}, value, copy,
					h('button', {type: 'button', onclick: () => replace(tokenShown)}, 'Done'))));
			value.focus();
			value.select();
			tName.value = '';
			await loadTokens();
		} catch (e) {
			if (e.status !== 401) showFormError(tForm, e);
		} finally {
			busy(tAdd, false);
		}
	});

	root.append(section('Administrators', aForm, adminBox), section('API tokens', tForm, tokenShown, tokenBox));
	await Promise.all([loadAdmins(), loadTokens()]);
}
