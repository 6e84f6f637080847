// Types of the public /api/v1 (hand-written from the gateway's OpenAPI document, /api/openapi.json): only what
// the app reads. Decimals arrive as strings or numbers.
export type Num = number | string
export type Colour = 'green' | 'yellow' | 'red'

export interface FieldError { field: string; in?: 'body' | 'query' | 'header' | 'path'; message: string }
export interface Problem {
  type: string; title: string; status: number; detail: string; errors?: FieldError[]; correlation_id?: string
}
export interface Page<T> { items: T[]; next_cursor?: string | null }

export interface Me { subject: string; kind: string; roles: string[]; scopes: string[]; org_unit: string | null }
export interface DevToken { access_token: string; token_type: 'Bearer'; expires_in: number; subject: string }

export interface Cycle {
  id: string; name: string; period: 'year' | 'quarter' | 'month'; starts_on: string; ends_on: string
  state: 'draft' | 'open' | 'locked' | 'closed'; red_after_weeks: number; opened_at: string | null; version: number
}
export interface OwnerRef { kind?: 'person' | 'org_unit'; id: string }
export interface KeyResult { id: string; title: string; start: Num; target: Num; current: Num; unit: string; weight: Num; progress: Num }
export interface Kpi { direction: '>=' | '<=' | '='; target: Num; unit: string; green: Num; yellow: Num; actual: Num | null; cumulative: boolean }
export interface Goal {
  id: string; cycle_id: string; parent_id: string | null; owner: OwnerRef; responsible_id: string
  org_unit_id: string | null; title: string; description: string; kind: 'okr' | 'kpi'; weight: Num
  start_on: string; due_on: string; key_results: KeyResult[]; kpi: Kpi | null; own_progress: Num; progress: Num
  confidence: Num | null; colour: Colour; colour_since: string; resources_needed: string[]; version: number
}
export interface ProgressUpdate {
  id: number; goal_id: string; key_result_id: string | null; actor_id: string; at: string
  before_value: Num | null; after_value: Num; before_progress: Num; after_progress: Num; comment: string
  confidence: Num | null
}
export interface ProgressRecorded { update: ProgressUpdate; goal: Goal }
export interface Change { goal_id: string; key_result_id?: string | null; field: 'target' | 'weight' | 'deadline' | 'resources'; value: unknown }
export interface ProposalSummary {
  negotiation_id: string; proposal_id: string; cycle_id: string; owner_id: string; manager_id: string
  state: 'open' | 'accepted' | 'rejected' | 'withdrawn' | 'countered'; proposed_by: 'owner' | 'manager'
  proposer_id: string; awaiting: 'owner' | 'manager' | null; opened_at: string; rationale: string
  replaces: string | null; changes: Change[]
}
export interface ProposalView { negotiation_id: string; proposal_id: string; state: ProposalSummary['state'] }
export interface Commitment {
  id: string; goal_id: string; kind: string; description: string; amount: Num | null; currency: string | null
  provider_id: string; due_on: string | null; state: 'promised' | 'delivered' | 'missed'
}
export interface BoardAggregate {
  key: string | null; name?: string | null; count: number; green: number; yellow: number; red: number
  weighted_progress: Num | null; average_confidence: Num | null
}
export interface BoardGoal {
  id: string; title: string; owner: OwnerRef; org_unit_id: string | null; kind: 'okr' | 'kpi'; weight: Num
  progress: Num; confidence: Num | null; colour: Colour; due_on: string
}
export interface Board { cycle_id: string; total: BoardAggregate; levels: BoardAggregate[]; items: BoardGoal[]; next_cursor?: string | null }
export interface Review {
  id: string; goal_id: string; cycle_id: string; owner_id: string; manager_id: string | null; opened_on: string
  reason: string; state: 'open' | 'completed'; summary: string; completed_by: string | null; completed_at: string | null
}
export interface Section<T> { status: 'ok' | 'unavailable' | 'refused'; data?: T; reason?: string; detail?: string }
export interface MyTeam {
  cycle_id: string; colours: Section<BoardAggregate>; at_risk: Section<BoardGoal[]>
  open_proposals: Section<ProposalSummary[]>; pending_reviews: Section<Review[]>
}
export interface AllocationItem { goal_id: string; key_result_id: string | null; owner_id: string; current_target: Num | null; allocated: Num }
export interface AllocationPreview { parent_goal_id: string; total: Num; method: string; items: AllocationItem[] }
export interface Preset { code: string; name: string; description: string; indicators: string[]; templates: string[] }
export interface Template { code: string; name: string; job_family: string; custom_fields: string[]; items: unknown[]; version: number }
export interface FormulaCheck { ok: boolean; result_type: 'number' | 'boolean'; variables: string[] }
export interface AuditEntry {
  sequence: number; event_id: string; type: string; source: string; actor: string | null; subject: string | null
  time: string; data: Record<string, unknown>; prev_hash: string; hash: string
}
export interface VerifyReport {
  ok: boolean; verified: number; head_sequence: number; head_hash: string; checkpoints_matched: number
  first_break: { sequence: number; reason: string; detail: string } | null
}
export interface Appeal {
  appeal_id: string; appellant: string; target_kind: string; target_ref: string; reasons: string; state: string
  submitted_at: string; due_at: string; overdue: boolean; outcome_reason?: string | null
}
export interface Dsr {
  request_id: string; kind: 'access' | 'erasure'; subject: string; requested_by: string; requested_at: string
  due_at: string; state: string; outstanding?: string[]
}
export interface Person {
  person_id: string; version: number; name: string; org_unit_id: string | null; manager_id?: string | null
  job_family?: string | null; grade?: string | null; status: string; email?: string | null
}
export interface Grant { role: 'hr' | 'hrbp' | 'auditor' | 'admin'; org_unit_id?: string | null }
export interface Grants { subject_id: string; version: number; grants: Grant[] }
export interface ImportIssue { row: number; column: string | null; code: string; message: string }
export interface ImportJob {
  job_id: string; filename: string; status: string; requested_by: string; rows_read: number; progress: number
  errors?: ImportIssue[]; error_count?: number; warnings?: ImportIssue[]; detail?: string | null
}
export interface Client { client_id: string; name: string; scopes: string[]; dpa_ref: string; dpa_expires: string; status: string }
export interface Hold { hold_id: string; reason: string; subject: string | null; placed_at: string; released_at?: string | null }
export interface ComplianceSettings { settings: Record<string, unknown>; presets: string[] }
