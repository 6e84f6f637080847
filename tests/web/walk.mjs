// The browser walk of the web app: every demo role signs in and does its main flow in Debian's chromium
// (playwright-core, no browser download), on a desktop and a phone viewport, in English and Chinese.
// Asserts what is visible and what must not be; screenshots every main page; axe-core finds no serious
// violations; no console errors (CSP violations included). Prints one JSON line per scenario, exits 1 on failure.
//
// env: BASE_URL (the gateway), ARTEFACTS (screenshots folder), CHROMIUM (default /usr/bin/chromium), WEB_DIR
import { createRequire } from 'node:module'
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const WEB_DIR = process.env.WEB_DIR ?? path.resolve(import.meta.dirname, '../../web')
const require = createRequire(path.join(WEB_DIR, 'package.json'))
const { chromium } = require('playwright-core')
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8000'
const ARTEFACTS = process.env.ARTEFACTS ?? path.resolve(import.meta.dirname, 'artefacts')
mkdirSync(ARTEFACTS, { recursive: true })

const DESKTOP = { name: 'desktop', viewport: { width: 1366, height: 900 }, isMobile: false, hasTouch: false }
const PHONE = { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
const TEXT = {
  en: { myGoals: 'My goals', forbidden: 'Not allowed', notAvailable: 'Not available yet', expired: 'Your session has expired', verified: 'Chain intact', team: 'My team', installed: 'Preset installed' },
  'zh-CN': { myGoals: '我的目标', forbidden: '无权访问', notAvailable: '暂不可用', expired: '会话已过期', verified: '哈希链完整', team: '我的团队', installed: '已安装预设' },
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

async function axe(page, label) {
  await page.evaluate(AXE)
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  })
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  check(serious.length === 0, `axe on ${label}: ${JSON.stringify(serious)}`)
  return result.length
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTEFACTS, `${name}.png`), fullPage: true })
}

async function settle(page) {
  await page.waitForLoadState('networkidle')
  await page.waitForFunction(() => !document.querySelector('.state-loading'), null, { timeout: 10000 })
  // every section shows data, "empty", "not available" or "not allowed": an error state is a bug of the app
  const errors = await page.locator('[data-state="error"]').evaluateAll((els) => els.map((e) => `${e.closest('[data-panel]')?.getAttribute('data-panel')}: ${e.textContent}`))
  check(errors.length === 0, `error states on ${page.url()}: ${errors.join(' | ')}`)
}

// phone-first: nothing wider than the screen (wide tables scroll inside their own box)
async function fits(page, label) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  check(overflow <= 1, `${label} is ${overflow}px wider than the screen`)
}

async function visit(page, url, label, tag) {
  await page.goto(BASE + url)
  await settle(page)
  await fits(page, `${tag} ${label}`)
  await shot(page, `${tag}-${label}`)
  return axe(page, `${tag} ${label}`)
}

async function signIn(page, user) {
  await page.goto(BASE + '/login')
  await page.locator(`[data-user="${user}"]`).click()
  await page.waitForURL('**/me')
  await settle(page)
}

const bodyText = (page) => page.locator('body').innerText()

// -- the roles' flows ---------------------------------------------------------------------------------------------
const FLOWS = {
  async manager(page, t, tag, main) {
    await page.locator('[data-nav="/team"]').click()
    await page.waitForURL('**/team')
    await settle(page)
    check(await page.getByRole('heading', { level: 1, name: t.team }).isVisible(), 'the team page heading')
    await fits(page, `${tag} team`)
    // the red goal on the team board and among the goals at risk
    await page.locator('[data-panel="team-at-risk"] [data-goal="Ship the mobile check-in"]').waitFor()
    check(await page.locator('[data-panel="team-board"] [data-person="E1003"][data-colour="red"]').count() === 1, 'E1003 is red on the team board')
    check(await page.locator('[data-panel="team-checkins"]').isVisible(), 'the check-ins to hold')
    await shot(page, `${tag}-team`)
    await axe(page, `${tag} team`)
    if (!main) return
    // drill down to the person
    await page.locator('[data-person="E1003"] button').click()
    await page.locator('[data-panel="team-person"] [data-goal="Cut page load"]').waitFor()
    // open the review of the red goal and complete it
    const reviews = page.locator('[data-panel="team-reviews"] [data-test="open-review"]')
    const before = await reviews.count()
    check(before >= 1, 'an open review of a red goal')
    await reviews.first().click()
    await page.locator('.review-form [data-goal]').waitFor()
    await page.locator('#review-summary').fill('Pilot store closed; moving the screens to the Shanghai store. Check-in held on Monday.')
    await page.locator('[data-test="complete-review"]').click()
    await page.waitForFunction((n) => document.querySelectorAll('[data-panel="team-reviews"] [data-test="open-review"]').length === n - 1, before)
    // hold this month's check-in with the employee, where the feedback service runs
    const schedule = page.locator('[data-panel="team-checkins"] [data-test="schedule"]')
    if (await schedule.count()) {
      await schedule.click()
      const row = page.locator('[data-panel="team-checkins"] [data-checkin="E1003"]')
      await row.locator('[data-test="hold"]').click()
      await row.locator('textarea').first().fill('Two screens shipped; the pilot store moved')
      await row.locator('textarea').nth(1).fill('Store API keys missing')
      await row.locator('[data-test="hold-submit"]').click()
      await page.locator('[data-panel="team-checkins"] [data-checkin="E1003"][data-checkin-state="held"]').waitFor()
      await shot(page, `${tag}-team-checkin-held`)
    }
    await shot(page, `${tag}-team-review-done`)
  },

  async employee(page, t, tag, main) {
    const text = await bodyText(page)
    check(text.includes('Ship the mobile check-in') && text.includes('Cut page load'), 'my goals are listed')
    check(!text.includes('Write the runbooks') && !text.includes('E1004'), "a colleague's goal or review is visible on Me")
    for (const hidden of ['/team', '/hr', '/audit', '/admin']) check(await page.locator(`[data-nav="${hidden}"]`).count() === 0, `nav shows ${hidden}`)
    const idp = page.locator('[data-panel="my-idp"]')
    check(await idp.locator('[data-state="not-available"], [data-state="empty"], [data-test="my-rating"]').count() === 1, 'my rating: mine, none yet, or not available')
    if (main) {
      const card = page.locator('[data-goal="Ship the mobile check-in"]')
      await card.locator('[data-test="record"]').click()
      // bad input: the API's field-level message appears next to the field
      await card.locator('[data-test="value"]').fill('lots')
      await card.locator('[data-test="save"]').click()
      await card.locator('[data-test="value-error"]').waitFor()
      check(await card.locator('[data-test="value"]').getAttribute('aria-invalid') === 'true', 'the field is marked invalid')
      await card.locator('[data-test="value"]').fill('6')
      await card.locator('[data-test="save"]').click()
      await card.locator('form').waitFor({ state: 'detached' })
      await page.waitForFunction(() => document.querySelector('[data-goal="Ship the mobile check-in"] [role="progressbar"]')?.getAttribute('aria-valuenow') === '60')
      // answer the proposal: accept the new KPI target
      const proposal = page.locator('[data-panel="my-proposals"] [data-proposal]').first()
      check(await proposal.innerText().then((s) => s.includes('1.8')), 'the proposal shows the new target')
      await proposal.locator('[data-test="accept"]').click()
      await page.locator('[data-panel="my-proposals"] [data-state="empty"]').waitFor()
      // the weekly report, where the feedback service runs: three fields and a click
      const report = page.locator('[data-test="weekly-report"]')
      if (await report.count()) {
        await report.locator('#wr-done').fill('Screens 5 and 6 of the check-in done')
        await report.locator('#wr-blockers').fill('Waiting for the store API keys')
        await report.locator('#wr-next').fill('Screens 7 and 8')
        await report.locator('input[type="checkbox"]').first().check()
        await report.locator('[data-test="send-report"]').click()
        await page.locator('.el-message--success').last().waitFor()
        check(await report.locator('.field-error').count() === 0, 'the report is accepted')
      }
      await shot(page, `${tag}-me-after`)
    }
    // pages a plain employee may not open: a clear page, not a blank one
    await page.goto(BASE + '/team')
    await page.getByRole('heading', { name: t.forbidden }).waitFor()
    await shot(page, `${tag}-forbidden`)
    const board = await visit(page, '/board', 'board', tag)
    const boardText = await bodyText(page)
    check(boardText.includes('Ship the mobile check-in'), 'the board shows my goals')
    check(!boardText.includes('Write the runbooks') && !boardText.includes('E1004'), "the board shows a colleague's goal")
    if (main) {
      // the session expires: a clear page, then sign in again
      await page.evaluate(() => {
        const s = JSON.parse(sessionStorage.getItem('jixiao.session'))
        s.token = 'expired.token.value'
        sessionStorage.setItem('jixiao.session', JSON.stringify(s))
      })
      await page.goto(BASE + '/me')
      await page.waitForURL('**/session-expired')
      await page.getByRole('heading', { name: t.expired }).waitFor()
      await shot(page, `${tag}-session-expired`)
    }
    return board
  },

  async hr(page, t, tag, main) {
    await visit(page, '/hr', 'hr', tag)
    check(await page.locator('[data-panel="hr-cycles"]').innerText().then((s) => /Q\d 20\d\d/.test(s)), 'the open cycle is listed')
    // calibration and the 9-box come from feedback/incentives: shown where they exist, else "not available"
    for (const [id, shown] of [['hr-calibration', 'canvas, [data-state="empty"]'], ['hr-ninebox', '[data-test="ninebox"]']]) {
      const panel = page.locator(`[data-panel="${id}"]`)
      const state = await panel.locator('[data-state]').first().getAttribute('data-state', { timeout: 1000 }).catch(() => null)
      check(state === 'not-available' || state === 'empty' || await panel.locator(shown).count() > 0, `${id}: ${state}`)
    }
    if (!main) return
    await page.locator('[data-test="formula"]').fill('revenue / target * 100')
    await page.locator('#f-vars').fill('revenue, target')
    await page.locator('[data-test="formula-ok"]').waitFor()
    await page.locator('[data-test="formula"]').fill('revenue / (')
    await page.locator('[data-test="formula-error"]').first().waitFor()
    // a field-level message for a bad new cycle
    await page.locator('[data-test="create-cycle"]').click()
    await page.locator('[data-test="cycle-name-error"]').waitFor()
    await shot(page, `${tag}-hr-checks`)
  },

  async auditor(page, t, tag, main) {
    await visit(page, '/audit', 'audit', tag)
    check(await page.locator('[data-panel="audit-log"] tbody tr').count() > 0, 'audit entries are listed')
    await page.locator('[data-test="verify"]').click()
    await page.locator('[data-test="verified"]').waitFor()
    check((await page.locator('[data-test="verified"]').innerText()).includes(t.verified), 'the chain verifies')
    await shot(page, `${tag}-audit-verified`)
    await page.goto(BASE + '/admin')
    await page.getByRole('heading', { name: t.forbidden }).waitFor()
  },

  async admin(page, t, tag, main) {
    await visit(page, '/admin', 'admin', tag)
    check(await page.locator('[data-panel="admin-people"] tbody tr').count() >= 7, 'the demo people are listed')
    if (main) {
      const preset = page.locator('[data-panel="admin-presets"] [data-preset]').first()
      await preset.waitFor()
      await preset.locator('[data-test="install"]').click()
      await page.locator('.el-message--success').waitFor()
      check((await page.locator('.el-message--success').innerText()).includes(t.installed), 'the preset installed')
      await shot(page, `${tag}-admin-installed`)
    }
    await visit(page, '/audit', 'audit', tag)
  },
}

// desktop/en and phone/zh-CN for every role; the main flow (writes) runs once per role
const SCENARIOS = [
  ['manager', DESKTOP, 'en', true], ['manager', PHONE, 'zh-CN', false],
  ['employee', DESKTOP, 'en', true], ['employee', PHONE, 'zh-CN', false],
  ['hr', DESKTOP, 'zh-CN', true], ['hr', PHONE, 'en', false],
  ['auditor', DESKTOP, 'en', true], ['auditor', PHONE, 'zh-CN', false],
  ['admin', PHONE, 'en', true], ['admin', DESKTOP, 'zh-CN', false],
]

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
})
let failed = 0
try {
  for (const [role, device, locale, main] of SCENARIOS) {
    const tag = `${role}-${device.name}-${locale}`
    const started = Date.now()
    const context = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, locale })
    const page = await context.newPage()
    const problems = []
    page.on('console', (m) => { if (m.type() === 'error' && !expectedError(m.text())) problems.push(`console: ${m.text()}`) })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    const t = TEXT[locale]
    try {
      await signIn(page, role)
      check(await page.locator('html').getAttribute('lang') === locale, `the page language is ${locale}`)
      check(await page.getByRole('heading', { name: t.myGoals }).isVisible(), `Me in ${locale}`)
      await shot(page, `${tag}-me`)
      await fits(page, `${tag} me`)
      await axe(page, `${tag} me`)
      await FLOWS[role](page, t, tag, main)
      check(problems.length === 0, problems.join('\n'))
      console.log(JSON.stringify({ scenario: tag, ok: true, seconds: (Date.now() - started) / 1000 }))
    } catch (e) {
      failed += 1
      await shot(page, `${tag}-FAILED`).catch(() => {})
      console.log(JSON.stringify({ scenario: tag, ok: false, error: String(e.message ?? e).slice(0, 2000), problems }))
    } finally {
      await context.close()
    }
  }
} finally {
  await browser.close()
}
process.exit(failed ? 1 : 0)

// answers the app expects and shows as a state (the browser logs every non-2xx fetch as a console error):
// 404 of a not-yet-running API, 400 and 422 of the deliberate bad input (422: a rule only the service judges, such
// as a formula that does not parse), 401 of the expired session, 403 of a page
function expectedError(text) {
  return /Failed to load resource: the server responded with a status of (400|401|403|404|422)/.test(text)
}
