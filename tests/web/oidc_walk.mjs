// Production sign-in in a real browser: the web app's OIDC authorization-code flow with PKCE against a real
// provider (oidc_provider.mjs), the API accepting the provider's tokens, a silent refresh when the access token
// expires, and sign-out through the provider. Prints one JSON line; exits 1 on failure.
// env: BASE_URL, ISSUER, ARTEFACTS, CHROMIUM, ACCESS_TTL, WEB_DIR
import { createRequire } from 'node:module'
import path from 'node:path'
import { writeFileSync } from 'node:fs'

const WEB_DIR = process.env.WEB_DIR ?? path.resolve(import.meta.dirname, '../../web')
const { chromium } = createRequire(path.join(WEB_DIR, 'package.json'))('playwright-core')
const BASE = process.env.BASE_URL
const ISSUER = process.env.ISSUER
const ARTEFACTS = process.env.ARTEFACTS ?? path.resolve(import.meta.dirname, 'artefacts')
const TTL = Number(process.env.ACCESS_TTL ?? 8)

function check(condition, message) { if (!condition) throw new Error(message) }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en' })
const page = await context.newPage()
const problems = []
const tokenCalls = []
page.on('console', (m) => {
  if (page.url().startsWith(ISSUER)) return // the provider's own pages are not the app's
  if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) problems.push(m.text())
})
page.on('pageerror', (e) => problems.push(e.message))
const apiCalls = []
let authorize = ''
page.on('requestfailed', (r) => apiCalls.push(`failed ${r.url().slice(0, 60)} ${r.failure()?.errorText}`))
page.on('response', (r) => { if (r.url().startsWith(BASE + '/api/') || r.url().startsWith(ISSUER)) apiCalls.push(`${r.status()} ${r.url().slice(BASE.length, BASE.length + 40)}`) })
page.on('request', (r) => {
  if (r.url().startsWith(ISSUER + '/auth?')) authorize ||= r.url()
  if (r.url().startsWith(ISSUER)) apiCalls.push(`req ${r.method()} ${r.url().slice(ISSUER.length, ISSUER.length + 30)}`); if (r.url().startsWith(ISSUER) && r.method() === 'POST' && r.url().includes('/token')) tokenCalls.push(r.postData() ?? '') })
let ok = false
try {
  await page.goto(BASE + '/login')
  await page.locator('[data-test="sso"]').click()
  await page.waitForURL((url) => url.href.startsWith(ISSUER))
  await page.locator('input[name="login"]').fill('E1003')
  await page.locator('input[name="password"]').fill('any')
  await page.screenshot({ path: path.join(ARTEFACTS, 'oidc-provider-login.png') })
  await page.locator('button[type="submit"]').click()
  await page.getByRole('button', { name: 'Continue' }).click() // the provider's consent to the API scopes
  await page.waitForURL(BASE + '/me')
  await page.locator('[data-test="who"]').waitFor()
  check(await page.locator('[data-test="who"]').innerText() === 'E1003', 'signed in as the IdP subject')
  await page.getByRole('heading', { name: 'My goals' }).waitFor()
  check(tokenCalls.length === 1 && /grant_type=authorization_code/.test(tokenCalls[0]) && /code_verifier=[A-Za-z0-9_-]{43,128}/.test(tokenCalls[0]),
    `one code exchange with a PKCE verifier: ${tokenCalls}`)
  check(!/client_secret/.test(tokenCalls[0]), 'a public client sends no secret')
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('jixiao.session') ?? 'null'))
  check(stored?.method === 'oidc' && stored.refreshToken, 'an OIDC session with a refresh token')
  await page.screenshot({ path: path.join(ARTEFACTS, 'oidc-signed-in.png') })

  // the access token expires: the next API calls refresh it once, silently
  await page.locator('[data-nav="/board"]').click()
  await page.waitForURL(BASE + '/board')
  await page.waitForTimeout((TTL + 1) * 1000)
  const refreshed = page.waitForResponse((r) => r.url().startsWith(ISSUER) && r.url().includes('/token'))
  await page.locator('[data-nav="/me"]').click() // the page's sections call the API again
  await page.waitForURL(BASE + '/me')
  check((await refreshed).status() === 200, 'the provider refreshed the token')
  await page.waitForLoadState('networkidle')
  check(!page.url().includes('session-expired'), 'the session survives an expired access token')
  const refreshes = tokenCalls.filter((c) => /grant_type=refresh_token/.test(c))
  const claims = JSON.parse(Buffer.from(stored.token.split('.')[1], 'base64url').toString())
  check(refreshes.length === 1, `one refresh for the requests that failed together: ${refreshes.length} expired ${Math.floor(Date.now() / 1000) - claims.exp} s ago; ${apiCalls.slice(-6).join(', ')}`)
  await page.getByRole('heading', { name: 'My goals' }).waitFor()
  check(await page.locator('[data-state="error"], [data-state="forbidden"]').count() === 0, 'no error state after the refresh')
  const renewed = await page.evaluate(() => JSON.parse(sessionStorage.getItem('jixiao.session') ?? 'null'))
  check(renewed.token !== stored.token, 'a new access token')

  // sign out through the provider, back to the sign-in page
  await page.locator('[data-test="sign-out"]').click()
  await page.waitForURL((url) => url.href.startsWith(ISSUER))
  await page.locator('button[autofocus], button[type="submit"]').first().click()
  await page.waitForURL(BASE + '/login')
  check(await page.evaluate(() => sessionStorage.getItem('jixiao.session')) === null, 'the session is gone')
  await page.screenshot({ path: path.join(ARTEFACTS, 'oidc-signed-out.png') })
  check(problems.length === 0, problems.join('\n'))
  ok = true
  console.log(JSON.stringify({ scenario: 'oidc', ok: true, authorize }))
} catch (e) {
  await page.screenshot({ path: path.join(ARTEFACTS, 'oidc-FAILED.png') }).catch(() => {})
  writeFileSync(path.join(ARTEFACTS, 'oidc-failure.json'), JSON.stringify({ error: String(e.message ?? e), url: page.url(), problems, tokenCalls, apiCalls }, null, 1))
  console.log(JSON.stringify({ scenario: 'oidc', ok: false, error: String(e.message ?? e).slice(0, 2000), url: page.url(), problems, tokenCalls }))
} finally {
  await browser.close()
}
process.exit(ok ? 0 : 1)
