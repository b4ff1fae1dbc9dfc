// The REST API client: session cookie + CSRF header, JSON errors turned into ApiError, and a
// 401 from any call reported to the app (which shows the login page and returns afterwards).

export const BASE = '/api/v1';

export class ApiError extends Error {
	constructor(status, code, message, field) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.field = field;
	}
}

const state = {csrf: null, user: null, expiresAt: null, onUnauthorized: null};

export function setSession(s) {
	state.csrf = s ? s.csrf_token : null;
	state.user = s ? s.user : null;
	state.expiresAt = s ? s.expires_at : null;
}

export function currentUser() {
	return state.user;
}

export function onUnauthorized(fn) {
	state.onUnauthorized = fn;
}

export function buildQuery(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {})) {
		if (v === undefined || v === null || v === '') continue;
		q.set(k, String(v));
	}
	const s = q.toString();
	return s ? `?${s}` : '';
}

async function errorFrom(resp) {
	let code = `http_${resp.status}`;
	let message = `${resp.status} ${resp.statusText || 'error'}`;
	let field;
	const type = resp.headers.get('Content-Type') || '';
	try {
		if (type.includes('json')) {
			const body = await resp.json();
			if (body && body.error) {
				code = body.error.code || code;
				message = body.error.message || message;
				field = body.error.field;
			}
		} else {
			const text = (await resp.text()).trim();
			if (text) message = `${message}: ${text.slice(0, 300)}`;
		}
	} catch (e) {
		// keep the status line as the message
	}
	return new ApiError(resp.status, code, message, field);
}

// request('GET', '/stats') -> parsed JSON (or text for text/* replies, null for 204).
// opts: {query, body (object -> JSON, string -> text/plain), raw (return the Response), quiet401}
export async function request(method, path, opts = {}) {
	const headers = {Accept: 'application/json'};
	let body;
	if (opts.body !== undefined) {
		if (typeof opts.body === 'string') {
			headers['Content-Type'] = 'text/plain; charset=utf-8';
			body = opts.body;
		} else {
			headers['Content-Type'] = 'application/json';
			body = JSON.stringify(opts.body);
		}
	}
	if (method !== 'GET' && method !== 'HEAD' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
	let resp;
	try {
		resp = await fetch(BASE + path + buildQuery(opts.query), {
			method,
			headers,
			body,
			credentials: 'same-origin',
			cache: 'no-store',
		});
	} catch (e) {
		throw new ApiError(0, 'network', `Cannot reach the gateway (${e.message}). Is portcullisd running?`);
	}
	if (resp.status === 401 && !opts.quiet401) {
		const err = await errorFrom(resp);
		setSession(null);
		if (state.onUnauthorized) state.onUnauthorized(err);
		throw err;
	}
	if (!resp.ok) throw await errorFrom(resp);
	if (opts.raw) return resp;
	if (resp.status === 204) return null;
	const type = resp.headers.get('Content-Type') || '';
	if (type.includes('json')) return resp.json();
	return resp.text();
}

export const api = {
	get: (path, query) => request('GET', path, {query}),
	post: (path, body, query) => request('POST', path, {body, query}),
	put: (path, body) => request('PUT', path, {body}),
	patch: (path, body) => request('PATCH', path, {body}),
	del: (path, query) => request('DELETE', path, {query}),
};

export async function login(username, password) {
	const s = await request('POST', '/auth/login', {body: {username, password}, quiet401: true});
	setSession(s);
	return s;
}

export async function logout() {
	try {
		await request('POST', '/auth/logout', {quiet401: true});
	} finally {
		setSession(null);
	}
}

export async function restoreSession() {
	try {
		const s = await request('GET', '/auth/session', {quiet401: true});
		setSession(s);
		return s;
	} catch (e) {
		if (e.status === 401) return null;
		throw e;
	}
}

// Encodes one path segment (ids can be names, e.g. timeouts/uauth).
export function seg(v) {
	return encodeURIComponent(String(v));
}
