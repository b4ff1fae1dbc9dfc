// DEVELOPMENT PREVIEW ONLY - not used by any test. Serves webui/ with the same strict CSP the
// gateway sends and answers /api/v1 from in-memory sample data shaped like API-CONTRACT.md, so
// the console's layout can be looked at before the real API exists. The browser tests always
// run against the real portcullisd (tests/web/console_test.sh).
//   node tests/web/dev/contract_mock.mjs 8099   -> http://127.0.0.1:8099/ (admin / admin)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const port = Number(process.argv[2] || 8099);
const webui = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../webui');
const TYPES = {'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml'};
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const sessions = new Map();
let nextId = 100;
const now = Date.now();
const db = {
	interfaces: [{id: 1, hw_name: 'ethernet0', nameif: 'outside', security: 0, ip_mode: 'static', address: '192.168.1.1', netmask: '255.255.255.0', speed: '100full', mtu: 1500, shutdown: false},
		{id: 2, hw_name: 'ethernet1', nameif: 'inside', security: 100, ip_mode: 'static', address: '10.89.129.194', netmask: '255.255.255.240', speed: '100full', mtu: 1500, shutdown: false}],
	pools: [{id: 1, name: 'VPNpool', start_address: '10.89.129.200', end_address: '10.89.129.204', netmask: null}],
	'isakmp-policies': [{priority: 10, authentication: 'pre-share', encryption: 'des', hash: 'md5', dh_group: 2, lifetime_s: 86400, warnings: ['single DES', 'MD5']},
		{priority: 20, authentication: 'pre-share', encryption: 'des', hash: 'md5', dh_group: 1, lifetime_s: 86400, warnings: ['single DES', 'MD5', 'DH group 1']}],
	vpngroups: [{id: 1, name: 'vpn3000', pool: 'VPNpool', pool_id: 1, idle_time_s: 1800, password_set: true, warnings: ['Aggressive Mode with a pre-shared key']}],
	routes: [{id: 1, interface: 'outside', destination: '0.0.0.0', netmask: '0.0.0.0', gateway: '192.168.1.3', metric: 1}],
};
const acct = [];
for (let i = 0; i < 1234; i++) acct.push({id: i + 1, created_at_ms: now - (1234 - i) * 60000, record_type: i % 2 ? 'stop' : 'start', username: ['cisco_customer', 'alice', 'bob'][i % 3], group_name: 'vpn3000', caller_address: `10.89.129.${200 + (i % 5)}`, peer_address: '192.168.1.50', service: 'telnet', elapsed_s: i % 2 ? 60 + i : 0, bytes_in: i % 2 ? 1000 * i : 0, bytes_out: i % 2 ? 300 * i : 0, task_id: 1000 + i, state: 'delivered', delivered_to: '10.89.129.134'});

function send(res, status, body, type = 'application/json') {
	res.writeHead(status, {'Content-Type': type, 'Cache-Control': 'no-store'});
	res.end(type === 'application/json' ? JSON.stringify(body) : body);
}
const err = (res, status, code, message, field) => send(res, status, {error: {code, message, ...(field ? {field} : {})}});

function api(req, res, url, body) {
	const p = url.pathname.replace('/api/v1', '');
	const sid = (req.headers.cookie || '').match(/pc_session=([^;]+)/)?.[1];
	const s = sid && sessions.get(sid);
	if (p === '/auth/login' && req.method === 'POST') {
		const b = JSON.parse(body || '{}');
		if (b.username !== 'admin' || b.password !== 'admin') return err(res, 401, 'unauthorized', 'bad user name or password');
		const id = crypto.randomBytes(16).toString('hex');
		const se = {user: 'admin', csrf_token: crypto.randomBytes(8).toString('hex'), expires_at: new Date(Date.now() + 3600e3).toISOString()};
		sessions.set(id, se);
		res.setHeader('Set-Cookie', `pc_session=${id}; HttpOnly; SameSite=Strict; Path=/`);
		return send(res, 200, se);
	}
	if (!s) return err(res, 401, 'unauthorized', 'not signed in');
	if (req.method !== 'GET' && req.headers['x-csrf-token'] !== s.csrf_token) return err(res, 403, 'csrf', 'missing CSRF token');
	if (p === '/auth/session') return send(res, 200, s);
	if (p === '/auth/logout') { sessions.delete(sid); return send(res, 204, ''); }
	if (p === '/stats') return send(res, 200, {tunnels: 1 + (Math.random() * 3 | 0), uauth_current: 1, uauth_most_seen: 3, auth_in_progress: 0, handshakes_per_min: 2, failures_per_min: 0, acct_per_min: 4, bytes_in: Math.floor((Date.now() - now) * 50), bytes_out: Math.floor((Date.now() - now) * 20), acct_backlog: 0, sa_backend: 'tun',
		interfaces: [{nameif: 'outside', linux_name: 'eth0', state: 'up', address: '192.168.1.1', rx_bytes: 123456789, tx_bytes: 98765432, rx_packets: 123456, tx_packets: 98765, rx_errors: 0, tx_errors: 0},
			{nameif: 'inside', linux_name: 'eth1', state: 'up', address: '10.89.129.194', rx_bytes: 3456789, tx_bytes: 8765432, rx_packets: 3456, tx_packets: 8765, rx_errors: 0, tx_errors: 1}]});
	if (p === '/aaa/health') return send(res, 200, [{group: 'AuthInbound', server: '10.89.129.134', state: 'up', last_error: null, latency_ms: 4}]);
	if (p === '/sa/ike') return send(res, 200, {items: [{id: 7, peer: '192.168.1.50', user: 'cisco_customer', group: 'vpn3000', state: 'established', mode: 'aggressive', encryption: 'des', hash: 'md5', dh_group: 2, auth: 'xauth-psk', created: new Date(now - 600e3).toISOString(), lifetime_s: 86400}], total: 1});
	if (p === '/sa/ipsec') return send(res, 200, {items: [{id: 9, ike_id: 7, user: 'cisco_customer', assigned_address: '10.89.129.200', peer: '192.168.1.50', spi_in: '0x1a2b3c4d', spi_out: '0x5e6f7a8b', transform: 'esp-des esp-md5-hmac', bytes_in: 123456, bytes_out: 65432, packets_in: 321, packets_out: 210, created: new Date(now - 590e3).toISOString()}], total: 1});
	if (p === '/leases') return send(res, 200, {items: [{id: 1, pool: 'VPNpool', pool_id: 1, address: '10.89.129.200', username: 'cisco_customer', peer_address: '192.168.1.50', state: 'active', assigned_at: new Date(now - 600e3).toISOString(), released_at: null}], total: 1, offset: 0, limit: 50});
	if (p === '/uauth') return send(res, 200, {current: 1, most_seen: 3, in_progress: 0, in_progress_most_seen: 1, items: [{id: 1, user: 'cisco_customer', address: '10.89.129.200', method: 'ipsec', group: 'vpn3000', since: new Date(now - 600e3).toISOString(), expires: null, timeout_s: 300, absolute: true}]});
	if (p === '/accounting') {
		let rows = acct.filter((r) => (!url.searchParams.get('user') || r.username === url.searchParams.get('user')) && (!url.searchParams.get('type') || r.record_type === url.searchParams.get('type')));
		rows = rows.slice().reverse();
		const off = Number(url.searchParams.get('offset') || 0);
		const lim = Number(url.searchParams.get('limit') || 50);
		return send(res, 200, {items: rows.slice(off, off + lim), total: rows.length, offset: off, limit: lim});
	}
	if (p === '/config/pix' && req.method === 'GET') return send(res, 200, fs.readFileSync(path.join(webui, '../tests/data/seed.cfg'), 'utf8'), 'text/plain');
	if (p === '/config/pix') return send(res, 200, {applied: url.searchParams.get('apply') === 'true', counts: {mapped: 80, unsupported: 12}, added: ['interface ethernet0', 'ip local pool VPNpool'], changed: [], removed: [], secrets_needed: ['isakmp key for 0.0.0.0/0', 'vpngroup vpn3000 password'],
		lines: [{line: 40, text: 'ip audit info action alarm', kind: 'unsupported', reason: 'ip audit is not enforced'}, {line: 78, text: 'isakmp key ******** address 0.0.0.0 netmask 0.0.0.0', kind: 'warning', reason: 'masked secret: set the key'}]});
	if (p === '/admins') return send(res, 200, {items: [{id: 1, name: 'admin', created_at: new Date(now).toISOString(), last_login_at: new Date().toISOString()}], total: 1});
	if (p === '/tokens' && req.method === 'POST') return send(res, 201, {id: 3, name: JSON.parse(body).name, read_only: true, token: 'pct_' + crypto.randomBytes(20).toString('hex')});
	if (p === '/tokens') return send(res, 200, {items: [{id: 2, name: 'grafana', read_only: true, created_at: new Date(now).toISOString(), created_by: 'admin'}], total: 1});
	if (p === '/audit') return send(res, 200, {items: [{id: 1, at: new Date().toISOString(), actor: 'admin', action: 'login', object: '/api/v1/auth/login', source: '127.0.0.1'}], total: 1});
	const m = p.match(/^\/([a-z-]+)(?:\/([^/]+))?$/);
	if (m && db[m[1]] !== undefined) {
		if (req.method === 'GET') return send(res, 200, {items: db[m[1]], total: db[m[1]].length, offset: 0, limit: 50});
		if (req.method === 'POST' || req.method === 'PATCH') {
			const b = JSON.parse(body || '{}');
			for (const [k, v] of Object.entries(b)) if (/address|netmask|gateway/.test(k) && v !== null && !(/^\d{1,3}(\.\d{1,3}){3}$/.test(v) && v.split('.').every((o) => Number(o) < 256)))
				return err(res, 422, 'invalid', `expected a dotted-quad IPv4 address, got '${v}'`, k);
			const item = {id: nextId++, ...b};
			db[m[1]].push(item);
			return send(res, 201, item);
		}
		if (req.method === 'DELETE') return send(res, 204, '');
	}
	if (m && /^(names|nat-globals|nat-rules|statics|object-groups|access-lists|access-groups|aaa-server-groups|aaa-rules|local-users|isakmp-keys|transform-sets|crypto-maps|crypto-map-options|timeouts|fixups|sysopts|settings|aaa-console|isakmp-interfaces|isakmp-client-pools|mgmt-access)$/.test(m[1]))
		return send(res, 200, {items: [], total: 0, offset: 0, limit: 50});
	return err(res, 404, 'not_found', 'no such resource');
}

http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	let body = '';
	req.on('data', (c) => { body += c; });
	req.on('end', () => {
		if (url.pathname.startsWith('/api/v1/events')) {
			res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store'});
			res.write(': stream open\n\n');
			const t = setInterval(() => res.write(`event: accounting\ndata: ${JSON.stringify({username: 'alice', record_type: 'stop', service: 'telnet'})}\n\n`), 4000);
			res.on('close', () => clearInterval(t));
			return;
		}
		if (url.pathname.startsWith('/api/')) return api(req, res, url, body);
		const f = path.join(webui, path.normalize(url.pathname === '/' ? '/index.html' : url.pathname));
		if (!f.startsWith(webui) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) return err(res, 404, 'not_found', 'no such file');
		res.writeHead(200, {'Content-Type': TYPES[path.extname(f)] || 'application/octet-stream', 'Content-Security-Policy': CSP});
		res.end(fs.readFileSync(f));
	});
}).listen(port, '127.0.0.1', () => console.log(`preview on http://127.0.0.1:${port}/`));
