// Shared helpers for the browser tests: launch Debian's chromium (never a downloaded browser)
// with a fresh profile, track console errors, log in, take screenshots.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const env = (name) => {
	const v = process.env[name];
	if (!v) throw new Error(`environment variable ${name} is not set (run through the *_test.sh script)`);
	return v;
};

export async function launch() {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pc-web-profile-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		acceptDownloads: true,
		viewport: {width: 1280, height: 900},
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	const close = async () => {
		await context.close();
		fs.rmSync(profile, {recursive: true, force: true});
	};
	return {context, close};
}

// Collects console errors and page errors. A failed API request logs "Failed to load resource"
// in Chromium; those are allowed only for requests the test provoked on purpose (expect()).
export function watchConsole(page) {
	const problems = [];
	const expected = [];
	const isExpected = (url, status) => expected.some((e) => e.status === status && e.re.test(url));
	page.on('console', (msg) => {
		if (msg.type() !== 'error') return;
		const text = msg.text();
		const m = text.match(/Failed to load resource: the server responded with a status of (\d+)/);
		if (m && isExpected(msg.location().url || '', Number(m[1]))) return;
		problems.push(`console error: ${text} (${msg.location().url || 'no url'})`);
	});
	page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
	return {
		problems,
		expect(re, status) {
			expected.push({re, status});
		},
	};
}

export async function login(page, user, password) {
	await page.getByLabel('User name').fill(user);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', {name: 'Sign in'}).click();
}

export async function shot(page, dir, name) {
	fs.mkdirSync(dir, {recursive: true});
	await page.screenshot({path: path.join(dir, `${name}.png`), fullPage: true});
}
