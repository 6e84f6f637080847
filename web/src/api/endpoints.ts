// Typed calls of /api/v1, grouped as the API's tags are.
import { api, get, idempotencyKey, patch, post, put } from './http'
import type * as T from './types'

const enc = encodeURIComponent

export const meta = {
  me: () => get<T.Me>('/me'),
  devLogin: (user: string) => api<T.DevToken>('POST', '/dev/login', { body: { user }, auth: false }),
}

export const goals = {
  cycles: (state?: string) => get<T.Page<T.Cycle>>('/cycles', { state, limit: 100 }),
  createCycle: (body: { name: string; period: string; year: number; index?: number }) => post<T.Cycle>('/cycles', body, idempotencyKey()),
  transitionCycle: (id: string, to: string) => post<T.Cycle>(`/cycles/${enc(id)}/transitions`, { to }),
  list: (cycle_id: string, owner_id?: string) => get<T.Page<T.Goal>>('/goals', { cycle_id, owner_id, limit: 200 }),
  goal: (id: string) => get<T.Goal>(`/goals/${enc(id)}`),
  progress: (id: string) => get<T.Page<T.ProgressUpdate>>(`/goals/${enc(id)}/progress`, { limit: 50 }),
  recordProgress: (id: string, body: { key_result_id?: string | null; value: string | number; comment?: string; confidence?: number | null }) =>
    post<T.ProgressRecorded>(`/goals/${enc(id)}/progress`, body, idempotencyKey()),
  commitments: (id: string) => get<T.Page<T.Commitment>>(`/goals/${enc(id)}/commitments`, { limit: 50 }),
  proposals: (query: { awaiting?: 'me'; state?: 'open'; cycle_id?: string } = {}) => get<T.Page<T.ProposalSummary>>('/proposals', { ...query, limit: 100 }),
  accept: (id: string, comment = '') => post<T.ProposalView>(`/proposals/${enc(id)}/accept`, { comment }),
  reject: (id: string, comment = '') => post<T.ProposalView>(`/proposals/${enc(id)}/reject`, { comment }),
  counter: (id: string, changes: T.Change[], rationale: string) => post<T.ProposalView>(`/proposals/${enc(id)}/counter`, { changes, rationale }),
  reviews: (query: { state?: 'open' | 'completed'; cycle_id?: string } = {}) => get<T.Page<T.Review>>('/reviews', { ...query, limit: 100 }),
  completeReview: (id: string, summary: string) => post<T.Review>(`/reviews/${enc(id)}/complete`, { summary }),
  board: (cycle_id: string, query: Record<string, string | boolean | undefined> = {}) => get<T.Board>(`/cycles/${enc(cycle_id)}/board`, { ...query, limit: 200 }),
  myTeam: (cycle_id: string) => get<T.MyTeam>('/dashboard/my-team', { cycle_id }),
  previewAllocation: (parent: string, body: unknown) => post<T.AllocationPreview>(`/goals/${enc(parent)}/allocations/preview`, body),
  tree: (id: string) => get<{ root_id: string; ancestors: unknown[]; nodes: unknown[] }>(`/goals/${enc(id)}/tree`),
  negotiation: (id: string) => get<{ threads?: unknown[] }>(`/goals/${enc(id)}/negotiation`),
  presets: () => get<T.Page<T.Preset>>('/presets', { limit: 100 }),
  installPreset: (code: string) => post<T.Preset>(`/presets/${enc(code)}/install`, {}),
  templates: () => get<T.Page<T.Template>>('/templates', { limit: 100 }),
  checkFormula: (formula: string, variables: string[] = []) => post<T.FormulaCheck>('/formulas/check', { formula, variables }),
}

export const compliance = {
  audit: (query: { type?: string; actor?: string; subject?: string; since?: string; until?: string } = {}) =>
    get<T.Page<T.AuditEntry>>('/audit/entries', { ...query, limit: 50 }),
  verify: () => post<T.VerifyReport>('/audit/verifications', {}),
  appeals: (state?: string) => get<T.Page<T.Appeal>>('/appeals', { state, limit: 100 }),
  submitAppeal: (body: { target_kind: string; target_ref: string; reasons: string }) => post<T.Appeal>('/appeals', body, idempotencyKey()),
  reviewAppeal: (id: string) => post<T.Appeal>(`/appeals/${enc(id)}/review`, {}),
  decideAppeal: (id: string, outcome: string, reason: string) => post<T.Appeal>(`/appeals/${enc(id)}/decision`, { outcome, reason }),
  exportMyData: () => post<T.Dsr>('/privacy/exports', {}, idempotencyKey()),
  exportFor: (person_id: string) => post<T.Dsr>('/privacy/exports', { person_id }, idempotencyKey()),
  dsr: (id: string) => get<T.Dsr>(`/privacy/requests/${enc(id)}`),
  holds: () => get<T.Page<T.Hold>>('/holds', { limit: 100 }),
  retentionSweep: () => post<Record<string, unknown>>('/retention/sweeps', {}),
  clients: () => get<T.Page<T.Client>>('/clients', { limit: 100 }),
  settings: () => get<T.ComplianceSettings>('/compliance/settings'),
  applyPreset: (preset: string) => post<T.ComplianceSettings>('/compliance/settings/preset', { preset }),
  people: (org_unit_id?: string) => get<T.Page<T.Person>>('/people', { org_unit_id, limit: 200 }),
  person: (id: string) => get<T.Person>(`/people/${enc(id)}`),
  upsertPerson: (id: string, body: Record<string, unknown>) => put<T.Person>(`/people/${enc(id)}`, body),
  upsertUnit: (id: string, body: { name: string; parent_id?: string | null }) => put<unknown>(`/org-units/${enc(id)}`, body),
  grants: (id: string) => get<T.Grants>(`/people/${enc(id)}/grants`),
  setGrants: (id: string, grants: T.Grant[]) => put<T.Grants>(`/people/${enc(id)}/grants`, { grants }),
  startImport: (filename: string, content_base64: string) => post<T.ImportJob>('/imports', { filename, format: 'csv', content_base64 }, idempotencyKey()),
  importJob: (id: string) => get<T.ImportJob>(`/imports/${enc(id)}`),
  applyImport: (id: string) => post<T.ImportJob>(`/imports/${enc(id)}/apply`, {}),
}

/** an endpoint of an API that is still being built (feedback, incentives): callers show "not available" on 404 */
export const optional = {
  get: <R>(path: string, query?: Record<string, string | number | undefined>) => get<R>(path, query),
}

export { patch }
