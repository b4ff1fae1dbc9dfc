// Console shell: session bootstrap, login/logout, hash routing, navigation.
import {h, clear} from './dom.js';
import {login, logout, restoreSession, onUnauthorized, currentUser} from './api.js';
import {announce, clearStatus, errorText, field, busy, pageHeader} from './ui.js';
import * as dashboard from './pages/dashboard.js';
import * as sessions from './pages/sessions.js';
import * as uauth from './pages/uauth.js';
import * as accounting from './pages/accounting.js';
import * as config from './pages/config.js';
import * as pix from './pages/pix.js';
import * as admins from './pages/admins.js';
import * as audit from './pages/audit.js';

const ROUTES = {dashboard, sessions, uauth, accounting, config, pix, admins, audit};
const DEFAULT_ROUTE = '#/dashboard';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const navToggle = document.getElementById('nav-toggle');
const logoutBtn = document.getElementById('logout');
const whoami = document.getElementById('whoami');

let cleanup = null;
let returnTo = null;
let loginShown = false;

// '#/config/pools?x=1' -> {name: 'config', rest: ['pools'], query: URLSearchParams}
export function parseHash(hash) {
	const raw = (hash || '').replace(/^#\/?/, '');
	const [path, qs] = raw.split('?');
	const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
	return {name: parts[0] || '', rest: parts.slice(1), query: new URLSearchParams(qs || '')};
}

function setShell(signedIn) {
	nav.hidden = !signedIn;
	navToggle.hidden = !signedIn;
	logoutBtn.hidden = !signedIn;
	whoami.textContent = signedIn && currentUser() ? `Signed in as ${currentUser()}` : '';
	document.body.classList.toggle('signed-in', signedIn);
}

function runCleanup() {
	if (cleanup) {
		try {
			cleanup();
		} catch (e) {
			// a page's teardown must not stop navigation
		}
	}
	cleanup = null;
}

function showLogin(message) {
	runCleanup();
	loginShown = true;
	setShell(false);
	clear(main);
	const user = h('input', {type: 'text', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false'});
	const pass = h('input', {type: 'password', autocomplete: 'current-password', required: true});
	const submit = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
	const msg = h('p', {class: message ? 'error-box' : 'hidden', id: 'login-message', role: 'alert'}, message || '');
	const form = h('form', {class: 'login-form', 'aria-describedby': 'login-message', novalidate: true},
		msg,
		field({name: 'username', label: 'User name', control: user}),
		field({name: 'password', label: 'Password', control: pass}),
		h('div', {class: 'actions'}, submit));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!user.value || !pass.value) {
			msg.className = 'error-box';
			msg.textContent = 'Enter your user name and password.';
			(user.value ? pass : user).focus();
			return;
		}
		busy(submit, true);
		try {
			await login(user.value, pass.value);
			pass.value = '';
			loginShown = false;
			setShell(true);
			const target = returnTo && !returnTo.startsWith('#/login') ? returnTo : DEFAULT_ROUTE;
			returnTo = null;
			announce(`Signed in as ${currentUser()}.`);
			if (window.location.hash === target) route();
			else window.location.hash = target;
		} catch (e) {
			msg.className = 'error-box';
			msg.textContent = e.status === 401 ? `Sign-in failed: ${e.message}` : errorText(e);
			pass.value = '';
			pass.focus();
		} finally {
			busy(submit, false);
		}
	});
	main.append(h('div', {class: 'login-page'},
		pageHeader('Sign in to Portcullis'),
		h('p', {class: 'muted'}, 'Gateway console. Use an administrator account.'),
		form));
	user.focus();
}

async function route() {
	if (loginShown) return;
	const r = parseHash(window.location.hash);
	const page = ROUTES[r.name];
	if (!page) {
		window.location.replace(DEFAULT_ROUTE);
		return;
	}
	runCleanup();
	clearStatus();
	document.body.classList.remove('nav-open');
	navToggle.setAttribute('aria-expanded', 'false');
	for (const a of nav.querySelectorAll('a')) {
		const active = parseHash(a.getAttribute('href')).name === r.name;
		if (active) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
	clear(main);
	const container = h('div', {class: `page page-${r.name}`});
	main.append(container);
	try {
		const c = await page.render(container, r);
		cleanup = typeof c === 'function' ? c : null;
	} catch (e) {
		if (e && e.status === 401) return;
		container.append(h('p', {class: 'error-box', role: 'alert'}, errorText(e)));
		announce(errorText(e), 'error');
	}
	container.dataset.ready = 'true'; // first load finished (tests wait for this)
	const title = container.querySelector('h1');
	document.title = `${title ? title.textContent : 'Console'} – Portcullis`;
	if (title && document.activeElement === document.body) title.focus();
}

onUnauthorized((err) => {
	if (loginShown) return;
	returnTo = window.location.hash || DEFAULT_ROUTE;
	showLogin(`Your session has ended (${err.message}). Sign in again to continue.`);
});

logoutBtn.addEventListener('click', async () => {
	try {
		await logout();
	} catch (e) {
		// the session is gone locally either way
	}
	returnTo = null;
	window.location.hash = DEFAULT_ROUTE;
	showLogin('');
	announce('Signed out.');
});

navToggle.addEventListener('click', () => {
	const open = !document.body.classList.contains('nav-open');
	document.body.classList.toggle('nav-open', open);
	navToggle.setAttribute('aria-expanded', String(open));
	if (open) nav.querySelector('a').focus();
});

document.addEventListener('keydown', (ev) => {
	if (ev.key === 'Escape' && document.body.classList.contains('nav-open')) {
		document.body.classList.remove('nav-open');
		navToggle.setAttribute('aria-expanded', 'false');
		navToggle.focus();
	}
});

window.addEventListener('hashchange', () => {
	if (parseHash(window.location.hash).name === 'login') return;
	route();
});

async function start() {
	let s = null;
	try {
		s = await restoreSession();
	} catch (e) {
		returnTo = window.location.hash || DEFAULT_ROUTE;
		showLogin(errorText(e));
		return;
	}
	if (!s) {
		returnTo = window.location.hash || DEFAULT_ROUTE;
		showLogin('');
		return;
	}
	setShell(true);
	if (!window.location.hash) window.location.replace(DEFAULT_ROUTE);
	else route();
}

start();
