import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import AsyncState from '../../src/components/AsyncState.vue'
import ColourTag from '../../src/components/ColourTag.vue'
import ProgressBar from '../../src/components/ProgressBar.vue'
import GoalCard from '../../src/components/GoalCard.vue'
import { ApiError } from '../../src/api/http'
import type { Goal } from '../../src/api/types'
import { answering, mountWith } from './helpers'

afterEach(() => vi.unstubAllGlobals())

describe('AsyncState', () => {
  const slot = { default: '<p class="content">data</p>' }
  it('shows loading, then the content', async () => {
    const w = mountWith(AsyncState, { props: { loading: true, error: null }, slots: slot })
    expect(w.text()).toContain('Loading')
    await w.setProps({ loading: false })
    expect(w.find('.content').exists()).toBe(true)
  })
  it('says "not available" for a route that is not running, "not allowed" for a 403', async () => {
    const w = mountWith(AsyncState, { props: { loading: false, error: new ApiError(404, { type: 't', title: 'x', status: 404, detail: 'no route /api/v1/points' }) }, slots: slot })
    expect(w.find('[data-state="not-available"]').exists()).toBe(true)
    expect(w.find('.content').exists()).toBe(false)
    await w.setProps({ error: new ApiError(403, { type: 't', title: 'x', status: 403, detail: 'no rule allows' }) })
    expect(w.find('[data-state="forbidden"]').text()).toBe('You are not allowed to see this.')
  })
  it('shows other errors with the reference and a retry', async () => {
    const w = mountWith(AsyncState, { props: { loading: false, error: new ApiError(504, { type: 't', title: 'x', status: 504, detail: 'goals did not answer', correlation_id: 'abc123' }) }, slots: slot })
    expect(w.text()).toContain('goals did not answer')
    expect(w.text()).toContain('abc123')
    await w.find('button').trigger('click')
    expect(w.emitted('retry')).toHaveLength(1)
  })
  it('says when there is nothing', () => {
    const w = mountWith(AsyncState, { props: { loading: false, error: null, empty: true }, slots: slot }, 'zh-CN')
    expect(w.find('[data-state="empty"]').text()).toBe('暂无内容。')
  })
})

describe('colour and progress', () => {
  it('names the colour in words, in the chosen language', () => {
    expect(mountWith(ColourTag, { props: { colour: 'red' } }).text()).toBe('Off track')
    expect(mountWith(ColourTag, { props: { colour: 'yellow' } }, 'zh-CN').text()).toBe('有风险')
  })
  it('shows progress as a percentage, clamped', () => {
    const bar = (value: unknown) => mountWith(ProgressBar, { props: { value } }).find('[role="progressbar"]').attributes('aria-valuenow')
    expect(bar('0.625000000')).toBe('62.5')
    expect(bar(1.7)).toBe('100')
    expect(bar(-1)).toBe('0')
    expect(bar('nonsense')).toBe('0')
  })
})

const GOAL: Goal = {
  id: 'g-0001-aaaa', cycle_id: 'c1', parent_id: null, owner: { kind: 'person', id: 'E1003' }, responsible_id: 'E1003', org_unit_id: 'U-PLAT',
  title: 'Ship the mobile check-in', description: '', kind: 'okr', weight: '60', start_on: '2026-10-01', due_on: '2026-12-31',
  key_results: [{ id: 'kr1', title: 'Screens', start: '0', target: '10', current: '0', unit: 'screens', weight: '1', progress: '0' }],
  kpi: null, own_progress: '0', progress: '0', confidence: null, colour: 'red', colour_since: '2026-12-02', resources_needed: [], version: 1,
}

describe('GoalCard', () => {
  it("puts the API's field message next to the field it names", async () => {
    const { fetcher, calls } = answering(400, { type: 'https://jixiao.dev/problems/invalid-input', title: 'Invalid input', status: 400,
      detail: 'value: Not a valid number.', errors: [{ field: 'value', in: 'body', message: 'Not a valid number.' }] })
    vi.stubGlobal('fetch', fetcher)
    const w = mountWith(GoalCard, { props: { goal: GOAL, editable: true } })
    await w.find('[data-test="record"]').trigger('click')
    await w.find('[data-test="value"]').setValue('lots')
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(calls[0].url).toBe('/api/v1/goals/g-0001-aaaa/progress')
    expect(JSON.parse(String(calls[0].init?.body))).toMatchObject({ key_result_id: 'kr1', value: 'lots' })
    expect((calls[0].init?.headers as Record<string, string>)['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)
    expect(w.find('[data-test="value-error"]').text()).toBe('Not a valid number.')
    expect(w.find('[data-test="value"]').attributes('aria-invalid')).toBe('true')
  })
  it('offers no recording on a goal that is not mine', () => {
    const w = mountWith(GoalCard, { props: { goal: GOAL, editable: false } })
    expect(w.find('[data-test="record"]').exists()).toBe(false)
    expect(w.text()).toContain('Off track')
  })
})

describe('api', () => {
  it('asks for problems in the current locale, so field messages show in it', async () => {
    const { api } = await import('../../src/api/http')
    const { saveLocale } = await import('../../src/i18n')
    const { fetcher, calls } = answering(400, { type: 't', title: '输入无效', status: 400, detail: 'title: 必填字段缺失。', errors: [{ field: 'title', message: '必填字段缺失。' }] })
    vi.stubGlobal('fetch', fetcher)
    saveLocale('zh-CN')
    const error = (await api('POST', '/goals', { body: {}, auth: false }).catch((e: unknown) => e)) as { fields: Record<string, string> }
    expect((calls[0].init?.headers as Record<string, string>)['Accept-Language']).toBe('zh-CN')
    expect(error.fields).toEqual({ title: '必填字段缺失。' })
    saveLocale('en')
    await api('GET', '/me', { auth: false }).catch(() => null)
    expect((calls[1].init?.headers as Record<string, string>)['Accept-Language']).toBe('en')
  })
})
