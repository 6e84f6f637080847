// The one way the app talks to the API: JSON over fetch with the bearer token, problems as `ApiError`.
import type { FieldError, Problem } from './types'

export class ApiError extends Error {
  constructor(public status: number, public problem: Problem | null, message?: string) {
    super(message ?? problem?.detail ?? `HTTP ${status}`)
  }
  /** the API's field-level messages, by field name ("key_results.0.target") */
  get fields(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const e of (this.problem?.errors ?? []) as FieldError[]) out[e.field] = out[e.field] ? `${out[e.field]}; ${e.message}` : e.message
    return out
  }
  get notAvailable(): boolean { return this.status === 404 && /no route/.test(this.problem?.detail ?? '') }
  get forbidden(): boolean { return this.status === 403 }
}

export interface HttpHooks {
  token(): string | null
  /** called on a 401: refresh and answer a new token, or null (the session has expired) */
  refresh(): Promise<string | null>
  expired(): void
}

let hooks: HttpHooks = { token: () => null, refresh: async () => null, expired: () => {} }
export function setHttpHooks(h: HttpHooks) { hooks = h }

export type Query = Record<string, string | number | boolean | null | undefined>

export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  const s = params.toString()
  return s ? `${path}?${s}` : path
}

async function send(method: string, url: string, body: unknown, token: string | null, extra?: Record<string, string>) {
  // the API answers problems (titles, field messages) in the app's current locale (<html lang>, set by i18n)
  const locale = typeof document === 'undefined' ? '' : document.documentElement.lang
  const headers: Record<string, string> = { Accept: 'application/json', ...(locale ? { 'Accept-Language': locale } : {}), ...(extra ?? {}) }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
}

export async function api<T>(method: string, path: string, opts: { query?: Query; body?: unknown; auth?: boolean; headers?: Record<string, string> } = {}): Promise<T> {
  const url = withQuery('/api/v1' + path, opts.query)
  const auth = opts.auth !== false
  const sent = auth ? hooks.token() : null
  let response = await send(method, url, opts.body, sent, opts.headers)
  if (response.status === 401 && auth) {
    // a request sent with the old token while another refreshed it just retries with the new one
    const current = hooks.token()
    const fresh = current && current !== sent ? current : await hooks.refresh()
    if (fresh) response = await send(method, url, opts.body, fresh, opts.headers)
    if (response.status === 401) hooks.expired()
  }
  const text = await response.text()
  let data: unknown = null
  if (text) {
    try { data = JSON.parse(text) } catch { data = null }
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' && 'status' in (data as object) ? (data as Problem) : null
    throw new ApiError(response.status, problem, problem?.detail ?? (response.statusText || `HTTP ${response.status}`))
  }
  return data as T
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', path, { query })
export const post = <T>(path: string, body?: unknown, headers?: Record<string, string>) => api<T>('POST', path, { body: body ?? {}, headers })
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, { body })
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, { body })

/** a fresh Idempotency-Key for a create, so a retried click never creates twice */
export function idempotencyKey(): Record<string, string> {
  return { 'Idempotency-Key': crypto.randomUUID() }
}
