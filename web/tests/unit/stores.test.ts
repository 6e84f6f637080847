import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { currentCycle } from '../../src/stores/cycles'
import { useSession } from '../../src/stores/session'
import { ApiError, withQuery } from '../../src/api/http'
import type { Cycle } from '../../src/api/types'

const cycle = (id: string, period: Cycle['period'], starts_on: string, ends_on: string, state: Cycle['state'] = 'open'): Cycle =>
  ({ id, name: id, period, starts_on, ends_on, state, red_after_weeks: 2, opened_at: null, version: 1 })

describe('the cycle a page shows', () => {
  const year = cycle('FY2026', 'year', '2026-01-01', '2026-12-31')
  const q4 = cycle('Q4', 'quarter', '2026-10-01', '2026-12-31')
  const q1next = cycle('Q1-27', 'quarter', '2027-01-01', '2027-03-31', 'draft')
  it('prefers the shortest open cycle running today', () => {
    expect(currentCycle([year, q4, q1next], '2026-12-02')?.id).toBe('Q4')
  })
  it('falls back to any open cycle, then any cycle, then none', () => {
    expect(currentCycle([q1next, year], '2027-02-01')?.id).toBe('FY2026')
    expect(currentCycle([q1next], '2026-12-02')?.id).toBe('Q1-27')
    expect(currentCycle([], '2026-12-02')).toBeNull()
  })
})

describe('the session', () => {
  beforeEach(() => { setActivePinia(createPinia()); sessionStorage.clear() })

  it('keeps the token for the tab and restores it after a reload', () => {
    const s = useSession()
    s.accept('dev', 'tok-1', 60)
    const again = (setActivePinia(createPinia()), useSession())
    again.restore()
    expect(again.token).toBe('tok-1')
    expect(again.method).toBe('dev')
    expect(again.expiresAt).toBeGreaterThan(Date.now())
  })
  it('tells roles apart', () => {
    const s = useSession()
    s.me = { subject: 'E1002', kind: 'person', roles: ['employee', 'manager'], scopes: [], org_unit: 'U-PLAT' }
    expect(s.hasRole('manager')).toBe(true)
    expect(s.hasRole('hr', 'admin')).toBe(false)
  })
  it('an expired session forgets the token and says so; a never-signed-in one does not', () => {
    const s = useSession()
    s.markExpired()
    expect(s.expired).toBe(false)
    s.accept('dev', 'tok', 60)
    s.markExpired()
    expect(s.expired).toBe(true)
    expect(s.token).toBeNull()
    expect(sessionStorage.getItem('jixiao.session')).toBeNull()
  })
  it('a development token cannot be refreshed: the answer is null (the expired page follows)', async () => {
    const s = useSession()
    s.accept('dev', 'tok', 60)
    expect(await s.refresh()).toBeNull()
  })
  it('signing out of the development login clears everything and needs no redirect', async () => {
    const s = useSession()
    s.accept('dev', 'tok', 60)
    expect(await s.signOut()).toBeNull()
    expect(s.token).toBeNull()
    expect(s.signedIn).toBe(false)
  })
})

describe('API errors', () => {
  it('carries the field messages of a problem document', () => {
    const e = new ApiError(400, { type: 't', title: 'Invalid input', status: 400, detail: 'value: Not a valid number.', errors: [
      { field: 'value', in: 'body', message: 'Not a valid number.' }, { field: 'value', in: 'body', message: 'Required.' }, { field: 'comment', message: 'Too long.' }] })
    expect(e.fields).toEqual({ value: 'Not a valid number.; Required.', comment: 'Too long.' })
    expect(e.message).toBe('value: Not a valid number.')
  })
  it('tells a route that does not exist (yet) from a record that does not', () => {
    expect(new ApiError(404, { type: 't', title: 'Not found', status: 404, detail: 'no route /api/v1/points' }).notAvailable).toBe(true)
    expect(new ApiError(404, { type: 't', title: 'Not found', status: 404, detail: 'goal g1 not found' }).notAvailable).toBe(false)
    expect(new ApiError(403, null).forbidden).toBe(true)
  })
  it('builds query strings without empty values', () => {
    expect(withQuery('/goals', { cycle_id: 'c 1', owner_id: undefined, limit: 5, x: '' })).toBe('/goals?cycle_id=c+1&limit=5')
    expect(withQuery('/goals')).toBe('/goals')
  })
})
