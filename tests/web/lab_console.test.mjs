// Lab part of the console test (run by lab_console.sh.pending -> lab_console_test.sh once the
// IKE engine and lab exist): a connected vpnc client appears on the dashboard, in uauth and on
// the VPN sessions page, and is disconnected from there.
import {describe, test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {env, launch, watchConsole, login, shot} from './lib.mjs';

const BASE = env('PC_BASE_URL');
const USER = env('PC_VPN_USER');
const ART = env('PC_ARTIFACTS');
const T = 20000;
let browser;
let page;
let watch;

async function go(hash) {
	await page.goto(`${BASE}#/${hash}`);
	await page.locator('main .page[data-ready="true"]').waitFor({timeout: T});
}

describe('console with a live VPN client', () => {
	before(async () => {
		browser = await launch();
		page = await browser.context.newPage();
		watch = watchConsole(page);
		watch.expect(/\/api\/v1\/auth\/session$/, 401);
		await page.goto(BASE);
		await login(page, env('PC_ADMIN'), env('PC_PASSWORD'));
		await page.getByRole('heading', {level: 1, name: 'Dashboard'}).waitFor({timeout: T});
	});
	after(async () => {
		if (browser) await browser.close();
	});

	test('dashboard counts the tunnel', async () => {
		await go('dashboard');
		await page.locator('.tile', {hasText: /Tunnels up\s*[1-9]/}).waitFor({timeout: T});
		await shot(page, ART, 'lab-dashboard-desktop');
	});

	test('uauth lists the Xauth user at its pool address', async () => {
		await go('uauth');
		await page.getByRole('table').locator('tr', {hasText: USER}).filter({hasText: /10\.89\.129\.20[0-4]/}).waitFor({timeout: T});
		assert.match(await page.locator('pre.show-output').textContent(), new RegExp(`ipsec user '${USER}' at 10\\.89\\.129\\.20[0-4], authenticated`));
		await shot(page, ART, 'lab-uauth-desktop');
	});

	test('VPN sessions shows the SAs and Disconnect (after confirming) removes them', async () => {
		await go('sessions');
		const row = page.getByRole('table', {name: /^IKE SAs/}).locator('tr', {hasText: USER});
		await row.waitFor({timeout: T});
		assert.match(await row.textContent(), /192\.168\.1\.50/);
		assert.match(await row.textContent(), /aggressive/);
		const sa = page.getByRole('table', {name: /^IPsec SAs/}).locator('tr', {hasText: /10\.89\.129\.20[0-4]/}).first();
		await sa.waitFor({timeout: T});
		// the seed's transform set: esp-des esp-md5-hmac
		assert.match(await sa.textContent(), /esp-des esp-md5-hmac/);
		await shot(page, ART, 'lab-sessions-desktop');
		await row.getByRole('button', {name: /^Disconnect/}).click();
		const dlg = page.getByRole('dialog', {name: 'Disconnect VPN client'});
		await dlg.getByRole('button', {name: 'Disconnect'}).click();
		await page.getByRole('table', {name: /^IKE SAs/}).locator('tr', {hasText: USER}).waitFor({state: 'detached', timeout: T});
	});

	test('no console errors', () => {
		assert.deepEqual(watch.problems, []);
	});
});
