// The console against the real portcullisd (started by console_test.sh). Steps run in order and
// share one browser; every page is screenshotted at desktop width and at 360 px.
import {describe, test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {env, launch, watchConsole, login, shot} from './lib.mjs';
import {GROUPS} from '../../webui/js/resources.js';

const BASE = env('PC_BASE_URL');
const ADMIN = env('PC_ADMIN');
const PASSWORD = env('PC_PASSWORD');
const SEED = env('PC_SEED');
const ART = env('PC_ARTIFACTS');
const CSV_HEADER = 'Date,Time,User-Name,Group-Name,Caller-Id,Acct-Flags,elapsed_time,bytes_in,bytes_out,task_id,NAS-IP-Address,service';
const T = 15000;

const PAGES = ['dashboard', 'sessions', 'uauth', 'accounting', 'config', 'pix', 'admins', 'audit'];
// every configuration page the console has, from its own resource table
const CONFIG_PAGES = GROUPS.flatMap((g) => g.items);

let browser;
let page;
let watch;

async function go(hash) {
	const url = `${BASE}#/${hash}`;
	if (page.url() === url) await page.reload();
	else await page.goto(url);
	// the console marks a page ready once its first API calls have finished
	await page.locator('main .page[data-ready="true"]').waitFor({timeout: T});
}

// Polls a function in the page (page.waitForFunction needs eval, which the console's CSP forbids).
async function until(fn, arg, what, timeout = T) {
	const end = Date.now() + timeout;
	let last;
	for (;;) {
		last = await page.evaluate(fn, arg).catch((e) => `evaluate failed: ${e.message}`);
		if (last === true) return;
		if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

// Waits until the element's text matches re.
async function untilText(selector, re, timeout = T) {
	await until(([sel, src, flags]) => {
		const el = document.querySelector(sel);
		const t = el ? el.textContent : null;
		return new RegExp(src, flags).test(t || '') ? true : t;
	}, [selector, re.source, re.flags], `${selector} to match ${re}`, timeout);
}

async function noErrorBox(what) {
	const boxes = page.locator('main .error-box');
	const n = await boxes.count();
	const texts = [];
	for (let i = 0; i < n; i++) texts.push(await boxes.nth(i).textContent());
	assert.equal(n, 0, `${what}: the page shows API errors: ${texts.join(' | ')}`);
}

describe('web console', () => {
	before(async () => {
		browser = await launch();
		page = await browser.context.newPage();
		watch = watchConsole(page);
		// Not signed in yet: the console asks for the session once and gets 401 (contract).
		watch.expect(/\/api\/v1\/auth\/session$/, 401);
	});

	after(async () => {
		if (browser) await browser.close();
	});

	test('login: wrong password is refused with the API message, right one opens the dashboard', async () => {
		await page.goto(BASE);
		await page.locator('form.login-form').waitFor({timeout: T});
		await shot(page, ART, 'login-desktop');
		watch.expect(/\/api\/v1\/auth\/login$/, 401);
		await login(page, ADMIN, 'not-the-password');
		const msg = page.locator('#login-message');
		await untilText('#login-message', /Sign-in failed/);
		assert.match(await msg.textContent(), /Sign-in failed: \S/);
		await login(page, ADMIN, PASSWORD);
		await page.getByRole('heading', {level: 1, name: 'Dashboard'}).waitFor({timeout: T});
		assert.match(await page.locator('#whoami').textContent(), new RegExp(`Signed in as ${ADMIN}`));
	});

	test('PIX import: upload the seed, dry-run report, apply, running config', async () => {
		await go('pix');
		await page.getByLabel('Configuration file').setInputFiles(SEED);
		const seedText = fs.readFileSync(SEED, 'utf8');
		await until((n) => document.querySelector('textarea').value.length === n || document.querySelector('textarea').value.length, seedText.length, 'the file to load into the text area');
		await page.getByRole('button', {name: 'Dry run'}).click();
		const report = page.locator('.report');
		await untilText('.report', /Dry run: nothing was changed|\S/, 30000);
		await noErrorBox('PIX dry run');
		const added = await report.locator('h3', {hasText: /^Added \(\d+\)$/}).textContent();
		assert.ok(Number(added.match(/\((\d+)\)/)[1]) > 0, `a fresh database must get additions from the seed, report says "${added}"`);
		const secrets = await report.locator('h3', {hasText: /^Secrets still needed/}).textContent();
		assert.ok(Number(secrets.match(/\((\d+)\)/)[1]) >= 1,
			`the seed's masked isakmp key / vpngroup password must be listed as secrets still needed, report says "${secrets}"`);
		// lines needing attention carry line numbers from the pasted text
		const lineCells = await report.locator('table.data tbody tr th').allTextContents();
		for (const c of lineCells) assert.match(c.trim(), /^\d+$/, `line column holds line numbers, got "${c}"`);
		await shot(page, ART, 'pix-dry-run-desktop');

		await page.getByRole('button', {name: 'Apply', exact: true}).click();
		const dlg = page.getByRole('dialog', {name: 'Apply PIX configuration'});
		await dlg.waitFor({timeout: T});
		await dlg.getByRole('button', {name: 'Apply'}).click();
		await untilText('.report > p', /Applied: the gateway now runs this configuration|\S/, 30000);
		await noErrorBox('PIX apply');
		const running = page.locator('pre.running');
		await untilText('pre.running', /VPNpool/);
		const text = await running.textContent();
		for (const needle of ['ip local pool VPNpool 10.89.129.200-10.89.129.204', 'isakmp policy 10 encryption des', '192.168.1.1'])
			assert.ok(text.includes(needle), `running config should contain "${needle}"`);
		assert.ok(!text.includes('secretkey'), 'running config must mask the TACACS+ key unless asked');

		const [download] = await Promise.all([page.waitForEvent('download', {timeout: T}), page.getByRole('button', {name: 'Download'}).click()]);
		const dl = fs.readFileSync(await download.path(), 'utf8');
		assert.equal(dl, text, 'downloaded running config equals the one shown');
		await shot(page, ART, 'pix-applied-desktop');
	});

	test('configuration pages show the imported model and flag weak settings', async () => {
		await go('config/isakmp-policies');
		await noErrorBox('isakmp policies');
		const rows = page.locator('table.data tbody tr');
		await rows.first().waitFor({timeout: T});
		assert.ok(await rows.count() >= 2, 'the seed has isakmp policies 10 and 20');
		await page.getByRole('button', {name: 'Edit policy 20'}).click();
		const dlg = page.getByRole('dialog');
		await dlg.waitFor({timeout: T});
		const warn = dlg.locator('[data-field="dh_group"] .field-warning');
		assert.match(await warn.textContent(), /group 1/i, 'DH group 1 is explained as weak');
		assert.match(await dlg.locator('[data-field="encryption"] .field-warning').textContent(), /DES/);
		await shot(page, ART, 'config-isakmp-policy-edit-desktop');
		// saving a weak setting asks first and says why
		await dlg.getByRole('button', {name: 'Save changes'}).click();
		const weak = page.getByRole('dialog', {name: 'This weakens security'});
		await weak.waitFor({timeout: T});
		assert.match(await weak.textContent(), /DH group.*group 1/s);
		await shot(page, ART, 'config-weak-confirm-desktop');
		await weak.getByRole('button', {name: 'Cancel'}).click();
		await weak.waitFor({state: 'detached', timeout: T});
		await page.keyboard.press('Escape');
		await dlg.waitFor({state: 'detached', timeout: T});

		await go('config/vpngroups');
		await page.getByRole('button', {name: 'Edit vpn3000'}).click();
		const g = page.getByRole('dialog');
		await g.getByLabel('Group password (pre-shared key)').fill('correct horse battery staple');
		assert.match(await g.locator('[data-field="password"] .field-warning').textContent(), /Aggressive Mode.*offline.*psk-crack/s);
		await page.keyboard.press('Escape');
		await g.waitFor({state: 'detached', timeout: T});
	});

	test('a form with an invalid value shows the API message next to the field', async () => {
		await go('config/pools');
		watch.expect(/\/api\/v1\/pools$/, 422);
		watch.expect(/\/api\/v1\/pools$/, 400);
		await page.getByRole('button', {name: 'Add to Address pools'}).click();
		const dlg = page.getByRole('dialog');
		await dlg.getByLabel('Pool name *').fill('brokenpool');
		await dlg.getByLabel('First address *').fill('10.89.129.300');
		await dlg.getByLabel('Last address *').fill('10.89.129.210');
		const [resp] = await Promise.all([
			page.waitForResponse((r) => r.url().endsWith('/api/v1/pools') && r.request().method() === 'POST', {timeout: T}),
			dlg.getByRole('button', {name: 'Create'}).click(),
		]);
		assert.ok(resp.status() === 422 || resp.status() === 400, `invalid address must be refused, got ${resp.status()}`);
		const body = await resp.json();
		assert.equal(body.error.field, 'start_address', 'the API names the bad field');
		const err = dlg.locator('[data-field="start_address"] .field-error');
		await err.waitFor({state: 'visible', timeout: T});
		assert.equal((await err.textContent()).trim(), body.error.message);
		assert.equal(await dlg.getByLabel('First address *').getAttribute('aria-invalid'), 'true');
		await shot(page, ART, 'config-invalid-field-desktop');
		await page.keyboard.press('Escape');
		await dlg.waitFor({state: 'detached', timeout: T});

		// an error inside an inline array ("entries[0].dst_address") lands on that row's field;
		// after the fix the access list is created and listed
		await go('config/access-lists');
		watch.expect(/\/api\/v1\/access-lists$/, 422);
		watch.expect(/\/api\/v1\/access-lists$/, 400);
		await page.getByRole('button', {name: 'Add to Access lists'}).click();
		const acl = page.getByRole('dialog');
		await acl.getByLabel('Name *').fill('webtest');
		await acl.getByRole('button', {name: 'Add entry'}).click();
		const entry = acl.locator('.row-item').first();
		await entry.getByLabel('Protocol').fill('tcp');
		await entry.getByLabel('Destination', {exact: true}).selectOption('host');
		await entry.getByLabel('Dst address').fill('10.89.129.331');
		const [bad] = await Promise.all([
			page.waitForResponse((r) => r.url().endsWith('/api/v1/access-lists') && r.request().method() === 'POST', {timeout: T}),
			acl.getByRole('button', {name: 'Create'}).click(),
		]);
		const badBody = await bad.json();
		assert.equal(badBody.error.field, 'entries[0].dst_address');
		const rowErr = entry.locator('[data-field="entries.dst_address"] .field-error');
		await rowErr.waitFor({state: 'visible', timeout: T});
		assert.equal((await rowErr.textContent()).trim(), badBody.error.message);
		await entry.getByLabel('Dst address').fill('10.89.129.131');
		const [good] = await Promise.all([
			page.waitForResponse((r) => r.url().endsWith('/api/v1/access-lists') && r.request().method() === 'POST', {timeout: T}),
			acl.getByRole('button', {name: 'Create'}).click(),
		]);
		assert.equal(good.status(), 201, 'the corrected access list is created');
		await acl.waitFor({state: 'detached', timeout: T});
		await page.getByRole('table', {name: /^Access lists/}).locator('tr', {hasText: 'webtest'}).waitFor({timeout: T});

		// deleting asks first; Cancel keeps it
		await page.getByRole('button', {name: 'Delete webtest'}).click();
		const conf = page.getByRole('dialog', {name: 'Delete from Access lists'});
		await conf.getByRole('button', {name: 'Cancel'}).click();
		await conf.waitFor({state: 'detached', timeout: T});
		assert.equal(await page.getByRole('table', {name: /^Access lists/}).locator('tr', {hasText: 'webtest'}).count(), 1);
		await page.getByRole('button', {name: 'Delete webtest'}).click();
		await page.getByRole('dialog', {name: 'Delete from Access lists'}).getByRole('button', {name: 'Delete'}).click();
		await page.getByRole('table', {name: /^Access lists/}).locator('tr', {hasText: 'webtest'}).waitFor({state: 'detached', timeout: T});
	});

	test('dashboard shows live counters, AAA health and interfaces', async () => {
		await go('dashboard');
		await untilText('#live-state', /^live$/);
		const tiles = await page.locator('.tile').allTextContents();
		assert.ok(tiles.some((t) => /^Tunnels up ?\d+$/.test(t.replace(/\s+/g, ' ').trim())), `tunnels tile: ${tiles.join(' | ')}`);
		assert.ok(await page.locator('svg.chart').count() >= 3, 'time series and per-user charts are drawn');
		await shot(page, ART, 'dashboard-desktop');
		await noErrorBox('dashboard');
		await page.getByRole('table', {name: 'AAA servers'}).locator('tr', {hasText: '10.89.129.134'}).waitFor({timeout: T});
		await page.getByRole('table', {name: 'Interface counters'}).locator('tr', {hasText: 'outside'}).waitFor({timeout: T});
	});

	test('accounting: filter, page on the server, download the CSV with the same filters', async () => {
		await go('accounting');
		await noErrorBox('accounting');
		await page.getByLabel('User', {exact: true}).fill('alice');
		await page.getByLabel('Record', {exact: true}).selectOption('stop');
		const [resp] = await Promise.all([
			page.waitForResponse((r) => r.url().includes('/api/v1/accounting?') && r.url().includes('user=alice'), {timeout: T}),
			page.getByRole('button', {name: 'Apply filters'}).click(),
		]);
		const pageBody = await resp.json();
		// fixture: i = 1..150, alice when i % 3 == 0, stop when i even -> i % 6 == 0 -> 25 records
		assert.equal(pageBody.total, 25, 'alice has 25 stop records in the fixture');
		assert.match(resp.url(), /limit=50/, 'the page asks the server for one page, never everything');
		await untilText('.pager-info', /of 25 records/);
		const users = await page.locator('table.data tbody tr').evaluateAll((trs) => trs.map((tr) => tr.children[1].textContent));
		assert.equal(users.length, 25);
		assert.ok(users.every((u) => u === 'alice'), `only alice rows: ${users.join(',')}`);
		await shot(page, ART, 'accounting-filtered-desktop');

		// server-side paging: 25 per page
		await page.getByLabel('Rows per page').selectOption('25');
		await page.getByLabel('User', {exact: true}).fill('');
		await page.getByLabel('Record', {exact: true}).selectOption('');
		await page.getByRole('button', {name: 'Apply filters'}).click();
		await untilText('.pager-info', /1–25 of 150 records/);
		const [next] = await Promise.all([
			page.waitForResponse((r) => r.url().includes('/api/v1/accounting?') && r.url().includes('offset=25'), {timeout: T}),
			page.getByRole('button', {name: 'Next ›'}).first().click(),
		]);
		assert.equal(next.status(), 200);
		await untilText('.pager-info', /26–50 of 150 records/);

		// service and time range go to the server too
		await page.getByLabel('Service').fill('ipsec');
		const [svc] = await Promise.all([
			page.waitForResponse((r) => r.url().includes('/api/v1/accounting?') && r.url().includes('service=ipsec'), {timeout: T}),
			page.getByRole('button', {name: 'Apply filters'}).click(),
		]);
		assert.equal((await svc.json()).total, 30, 'every fifth fixture record is ipsec');
		await page.getByLabel('Service').fill('');
		const from = new Date(Date.now() - 60 * 60 * 1000);
		const fromLocal = from.toISOString().slice(0, 16);
		await page.getByLabel('From (UTC)').fill(fromLocal);
		const [ranged] = await Promise.all([
			page.waitForResponse((r) => r.url().includes('/api/v1/accounting?') && r.url().includes('from='), {timeout: T}),
			page.getByRole('button', {name: 'Apply filters'}).click(),
		]);
		assert.match(decodeURIComponent(ranged.url()), new RegExp(`from=${fromLocal}:00Z`));
		const rangedBody = await ranged.json();
		assert.ok(rangedBody.total > 50 && rangedBody.total < 70, `about the last hour (60 of 150 records), got ${rangedBody.total}`);
		for (const r of rangedBody.items) {
			const t = r.created_at_ms ?? Date.parse(r.created_at ?? r.time);
			assert.ok(t >= Date.parse(`${fromLocal}:00Z`), `record ${r.id} is inside the range`);
		}
		await page.getByLabel('From (UTC)').fill('');

		await page.getByLabel('User', {exact: true}).fill('alice');
		await page.getByLabel('Record', {exact: true}).selectOption('stop');
		await page.getByRole('button', {name: 'Apply filters'}).click();
		await untilText('.pager-info', /of 25 records/);
		const href = await page.getByRole('link', {name: 'Download CSV'}).getAttribute('href');
		assert.match(href, /^\/api\/v1\/accounting\.csv\?.*user=alice/);
		assert.match(href, /type=stop/);
		const [download] = await Promise.all([page.waitForEvent('download', {timeout: T}), page.getByRole('link', {name: 'Download CSV'}).click()]);
		const csv = fs.readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
		assert.equal(csv[0], CSV_HEADER, 'CSV in the ACS layout of the seed');
		assert.equal(csv.length - 1, 25, 'CSV has the 25 filtered records');
		for (const line of csv.slice(1)) {
			const cols = line.split(',');
			assert.equal(cols[2], 'alice', `User-Name column: ${line}`);
			assert.equal(cols[5], 'stop', `Acct-Flags column: ${line}`);
		}
	});

	test('uauth: show uauth summary; Escape closes the Clear-all confirmation and focus returns', async () => {
		await go('uauth');
		await noErrorBox('uauth');
		assert.match(await page.locator('pre.show-output').textContent(), /Authenticated Users/);
		await page.getByRole('button', {name: 'Clear all'}).click();
		const d = page.getByRole('dialog', {name: 'Clear all uauth entries'});
		await d.waitFor({timeout: T});
		await page.keyboard.press('Escape');
		await d.waitFor({state: 'detached', timeout: T});
		assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Clear all', 'focus returns to the opener');
	});

	test('VPN sessions page lists IKE and IPsec SAs', async () => {
		await go('sessions');
		await noErrorBox('sessions');
		await page.locator('table.data caption', {hasText: 'IKE SAs'}).waitFor({timeout: T});
		await page.locator('table.data caption', {hasText: 'IPsec SAs'}).waitFor({timeout: T});
	});

	test('admins and API tokens: the new token is shown once', async () => {
		await go('admins');
		await noErrorBox('admins');
		await page.getByRole('table', {name: /^Administrators/}).filter({hasText: ADMIN}).waitFor({timeout: T});
		await page.getByLabel('Token name').fill('ci-readonly');
		await page.getByRole('button', {name: 'Create token'}).click();
		const tok = page.getByLabel('Token ci-readonly', {exact: true});
		await tok.waitFor({timeout: T});
		const value = await tok.inputValue();
		assert.ok(value.length >= 16, 'the new token is shown');
		await shot(page, ART, 'admins-token-created-desktop');
		await go('admins');
		assert.equal(await page.getByLabel('Token ci-readonly', {exact: true}).count(), 0, 'the token is shown only once');
		assert.ok(!(await page.locator('main').textContent()).includes(value), 'the token value never appears again');
		await page.getByRole('table', {name: /^API tokens/}).locator('tr', {hasText: 'ci-readonly'}).waitFor({timeout: T});
	});

	test('audit log lists the import', async () => {
		await go('audit');
		await noErrorBox('audit');
		await page.locator('table.data tbody tr', {hasText: /import|pix/i}).first().waitFor({timeout: T});
	});

	test('every page at desktop and 360 px: no API errors, screenshots', async () => {
		// every page is visited and photographed; problems are collected and reported together
		const problems = [];
		for (const [w, h, tag] of [[1280, 900, 'desktop'], [360, 780, 'narrow']]) {
			await page.setViewportSize({width: w, height: h});
			for (const p of PAGES.concat(CONFIG_PAGES.map((c) => `config/${c}`))) {
				await go(p);
				try {
					await noErrorBox(`${p} (${tag})`);
				} catch (e) {
					problems.push(e.message);
				}
				const a11y = await page.evaluate(() => {
					const bad = [];
					for (const el of document.querySelectorAll('main input, main select, main textarea')) {
						if (el.type === 'hidden') continue;
						const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
						if (!named) bad.push(`${el.tagName.toLowerCase()}[name=${el.name}] has no label`);
					}
					for (const t of document.querySelectorAll('main table')) {
						if (!t.querySelector('caption') || !t.querySelector('caption').textContent.trim()) bad.push('table without caption');
						if (!t.querySelector('thead th[scope="col"]')) bad.push('table without column headers');
					}
					for (const b of document.querySelectorAll('main button, main a')) {
						if (!(b.textContent.trim() || b.getAttribute('aria-label'))) bad.push(`${b.tagName.toLowerCase()} without a name`);
					}
					return bad;
				});
				for (const a of a11y) problems.push(`${p}: ${a}`);
				if (tag === 'narrow') {
					const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
					if (overflow > 0) problems.push(`${p}: horizontal page scrolling at 360 px (overflow ${overflow}px)`);
				}
				await shot(page, ART, `page-${p.replace('/', '-')}-${tag}`);
			}
			if (tag === 'narrow') {
				await page.getByRole('button', {name: 'Menu'}).click();
				await page.getByRole('link', {name: 'Accounting'}).click();
				await page.getByRole('heading', {level: 1, name: 'Accounting'}).waitFor({timeout: T});
			}
		}
		await page.setViewportSize({width: 1280, height: 900});
		assert.deepEqual(problems, [], 'every page loads without API errors, is labelled, and fits 360 px');
	});

	test('session expiry: a 401 goes back to login with a message and returns to the page', async () => {
		await go('uauth');
		await browser.context.clearCookies();
		watch.expect(/\/api\/v1\//, 401);
		await page.getByRole('button', {name: 'Refresh'}).click();
		await page.locator('form.login-form').waitFor({timeout: T});
		assert.match(await page.locator('#login-message').textContent(), /session has ended/);
		await login(page, ADMIN, PASSWORD);
		await page.getByRole('heading', {level: 1, name: 'uauth'}).waitFor({timeout: T});
		assert.match(page.url(), /#\/uauth$/);

		// Sign out ends the session on the server too
		await page.getByRole('button', {name: 'Sign out'}).click();
		await page.locator('form.login-form').waitFor({timeout: T});
		const r = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).status);
		assert.equal(r, 401, 'the session is gone after Sign out');
		await login(page, ADMIN, PASSWORD);
		await page.getByRole('heading', {level: 1, name: 'Dashboard'}).waitFor({timeout: T});
	});

	test('keyboard: skip link, visible focus, logical tab order', async () => {
		await go('dashboard');
		assert.equal(await page.evaluate(() => document.activeElement.id), 'page-title', 'a new page moves focus to its heading');
		// start keyboard navigation in the top bar, the way a person tabbing from the top would
		await page.locator('#whoami').click();
		await page.keyboard.press('Shift+Tab');
		await page.keyboard.press('Shift+Tab');
		assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link', 'the skip link comes first');
		assert.ok(await page.locator('.skip-link').isVisible(), 'the skip link is visible when focused');
		const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
		assert.notEqual(outline, 'none', 'focused elements show an outline');
		const order = [];
		for (let i = 0; i < 14; i++) {
			await page.keyboard.press('Tab');
			order.push(await page.evaluate(() => (document.activeElement.getAttribute('aria-label') || document.activeElement.textContent).trim().slice(0, 24)));
		}
		const idx = (t) => order.indexOf(t);
		assert.ok(idx('Portcullis') < idx('Sign out') && idx('Sign out') < idx('Dashboard') && idx('Dashboard') < idx('Audit log'),
			`tab order top bar -> navigation: ${order.join(' | ')}`);
		assert.ok(order.length - 1 > idx('Audit log'), 'the content follows the navigation');
		await page.locator('.skip-link').focus();
		await page.keyboard.press('Enter');
		assert.equal(await page.evaluate(() => document.activeElement.id), 'main', 'the skip link moves focus to the content');
	});

	test('security: no inline scripts or handlers, no HTML sinks in the console code', () => {
		const root = new URL('../../webui/', import.meta.url);
		const html = fs.readFileSync(new URL('index.html', root), 'utf8');
		assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'index.html has only external scripts');
		assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'index.html has no inline event handlers');
		assert.doesNotMatch(html, /\sstyle\s*=/i, 'index.html has no inline styles');
		const files = [];
		const walk = (u) => {
			for (const e of fs.readdirSync(u, {withFileTypes: true})) {
				const c = new URL(e.name + (e.isDirectory() ? '/' : ''), u);
				if (e.isDirectory()) walk(c);
				else if (e.name.endsWith('.js')) files.push(c);
			}
		};
		walk(new URL('js/', root));
		assert.ok(files.length >= 10);
		for (const f of files) {
			const src = fs.readFileSync(f, 'utf8');
			assert.doesNotMatch(src, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, `${f.pathname}: HTML/code sinks`);
		}
	});

	test('no console errors or page errors on any page', () => {
		assert.deepEqual(watch.problems, []);
	});
});
