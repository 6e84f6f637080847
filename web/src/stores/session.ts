// Who is signed in, how (development login or OIDC), the token, and what the app may show them.
import { defineStore } from 'pinia'
import { setHttpHooks } from '../api/http'
import { meta } from '../api/endpoints'
import type { Me } from '../api/types'
import * as oidc from '../auth/oidc'

export interface AppConfig { environment: string; dev_login: boolean; oidc: oidc.OidcConfig | null }

const KEY = 'jixiao.session'
let refreshing: Promise<string | null> | null = null

interface Stored { method: 'dev' | 'oidc'; token: string; refreshToken?: string; idToken?: string; expiresAt: number }

export const useSession = defineStore('session', {
  state: () => ({
    config: null as AppConfig | null,
    method: null as 'dev' | 'oidc' | null,
    token: null as string | null,
    refreshToken: null as string | null,
    idToken: null as string | null,
    expiresAt: 0,
    me: null as Me | null,
    expired: false,
  }),
  getters: {
    signedIn: (s) => !!s.token && !!s.me,
    roles: (s): string[] => s.me?.roles ?? [],
  },
  actions: {
    hasRole(...roles: string[]): boolean {
      return roles.some((r) => this.roles.includes(r))
    },
    async loadConfig(fetcher: typeof fetch = fetch): Promise<AppConfig> {
      if (this.config) return this.config
      let config: AppConfig = { environment: 'production', dev_login: false, oidc: null }
      try {
        const response = await fetcher('/app-config.json')
        if (response.ok) config = (await response.json()) as AppConfig
      } catch { /* offline: the build's settings below */ }
      const env = import.meta.env
      if (!config.oidc && env.VITE_OIDC_ISSUER && env.VITE_OIDC_CLIENT_ID) {
        config.oidc = { issuer: env.VITE_OIDC_ISSUER, client_id: env.VITE_OIDC_CLIENT_ID, scope: 'openid profile email offline_access' }
      }
      this.config = config
      return config
    },
    restore() {
      const raw = sessionStorage.getItem(KEY)
      if (!raw) return
      try {
        const s = JSON.parse(raw) as Stored
        this.method = s.method; this.token = s.token; this.refreshToken = s.refreshToken ?? null
        this.idToken = s.idToken ?? null; this.expiresAt = s.expiresAt
      } catch { sessionStorage.removeItem(KEY) }
    },
    persist() {
      if (!this.token || !this.method) { sessionStorage.removeItem(KEY); return }
      const s: Stored = { method: this.method, token: this.token, refreshToken: this.refreshToken ?? undefined, idToken: this.idToken ?? undefined, expiresAt: this.expiresAt }
      sessionStorage.setItem(KEY, JSON.stringify(s))
    },
    accept(method: 'dev' | 'oidc', token: string, expiresIn: number, refreshToken?: string, idToken?: string) {
      this.method = method; this.token = token; this.expiresAt = Date.now() + expiresIn * 1000
      if (refreshToken) this.refreshToken = refreshToken
      if (idToken) this.idToken = idToken
      this.expired = false
      this.persist()
    },
    async loadMe() {
      this.me = await meta.me()
      return this.me
    },
    async devLogin(user: string) {
      const token = await meta.devLogin(user)
      this.accept('dev', token.access_token, token.expires_in)
      await this.loadMe()
    },
    async startOidc(returnTo = '/') {
      const config = await this.loadConfig()
      if (!config.oidc) throw new Error('no identity provider is configured')
      const discovery = await oidc.discover(config.oidc.issuer)
      window.location.assign(await oidc.authorizeUrl(config.oidc, discovery, returnTo))
    },
    async completeOidc(search: string): Promise<string> {
      const config = await this.loadConfig()
      if (!config.oidc) throw new Error('no identity provider is configured')
      const discovery = await oidc.discover(config.oidc.issuer)
      const { tokens, returnTo } = await oidc.completeLogin(config.oidc, discovery, search)
      this.accept('oidc', tokens.access_token, tokens.expires_in ?? 300, tokens.refresh_token, tokens.id_token)
      await this.loadMe()
      return returnTo
    },
    /** a new access token from the refresh token (OIDC); null when there is none: the session has expired.
     * Requests failing together share one refresh: a refresh token is single-use where the IdP rotates them. */
    refresh(): Promise<string | null> {
      refreshing ??= this.refreshOnce().finally(() => { refreshing = null })
      return refreshing
    },
    async refreshOnce(): Promise<string | null> {
      if (this.method !== 'oidc' || !this.refreshToken || !this.config?.oidc) return null
      try {
        const discovery = await oidc.discover(this.config.oidc.issuer)
        const tokens = await oidc.refresh(this.config.oidc, discovery, this.refreshToken)
        this.accept('oidc', tokens.access_token, tokens.expires_in ?? 300, tokens.refresh_token, tokens.id_token)
        return this.token
      } catch {
        return null
      }
    },
    clear() {
      this.method = null; this.token = null; this.refreshToken = null; this.idToken = null; this.expiresAt = 0; this.me = null
      sessionStorage.removeItem(KEY)
    },
    markExpired() {
      const had = !!this.token
      this.clear()
      this.expired = had
    },
    async signOut(): Promise<string | null> {
      const method = this.method
      const idToken = this.idToken ?? undefined
      this.clear()
      if (method === 'oidc' && this.config?.oidc) {
        try { return oidc.logoutUrl(await oidc.discover(this.config.oidc.issuer), idToken) } catch { return null }
      }
      return null
    },
  },
})

/** wire the HTTP layer to the session: its token, refresh on 401, and the expired page */
export function connectHttp(session: ReturnType<typeof useSession>, onExpired: () => void) {
  setHttpHooks({
    token: () => session.token,
    refresh: () => session.refresh(),
    expired: () => { session.markExpired(); onExpired() },
  })
}
