// OpenID Connect authorization-code flow with PKCE, for a public client (no secret in the browser).
// Issuer and client id come from /app-config.json (the gateway's WEB_OIDC_* settings) or the build's VITE_OIDC_*.
import { challengeOf, randomString } from './pkce'

export interface OidcConfig { issuer: string; client_id: string; scope: string }
export interface Discovery { authorization_endpoint: string; token_endpoint: string; end_session_endpoint?: string }
export interface TokenSet { access_token: string; refresh_token?: string; id_token?: string; expires_in?: number }

const PENDING = 'jixiao.oidc.pending'

export async function discover(issuer: string, fetcher: typeof fetch = fetch): Promise<Discovery> {
  const response = await fetcher(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)
  if (!response.ok) throw new Error(`the identity provider's discovery answered ${response.status}`)
  return (await response.json()) as Discovery
}

export function redirectUri(): string {
  return `${window.location.origin}/auth/callback`
}

/** the URL to send the browser to; the verifier and state wait in sessionStorage for the callback */
export async function authorizeUrl(config: OidcConfig, discovery: Discovery, returnTo = '/'): Promise<string> {
  const verifier = randomString(48)
  const state = randomString(16)
  const nonce = randomString(16)
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }))
  const params = new URLSearchParams({
    response_type: 'code', client_id: config.client_id, redirect_uri: redirectUri(), scope: config.scope,
    state, nonce, code_challenge: await challengeOf(verifier), code_challenge_method: 'S256',
  })
  return `${discovery.authorization_endpoint}?${params}`
}

async function tokenRequest(discovery: Discovery, form: Record<string, string>, fetcher: typeof fetch): Promise<TokenSet> {
  const response = await fetcher(discovery.token_endpoint, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form),
  })
  if (!response.ok) throw new Error(`the identity provider refused the token request (${response.status})`)
  return (await response.json()) as TokenSet
}

/** the callback: check the state, exchange the code with the verifier */
export async function completeLogin(config: OidcConfig, discovery: Discovery, search: string, fetcher: typeof fetch = fetch): Promise<{ tokens: TokenSet; returnTo: string }> {
  const params = new URLSearchParams(search)
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string; returnTo: string } | null
  sessionStorage.removeItem(PENDING)
  if (params.get('error')) throw new Error(params.get('error_description') || params.get('error') || 'sign-in failed')
  if (!pending || params.get('state') !== pending.state) throw new Error('the sign-in answer does not match this browser (state)')
  const code = params.get('code')
  if (!code) throw new Error('the sign-in answer carries no code')
  const tokens = await tokenRequest(discovery, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri(), client_id: config.client_id, code_verifier: pending.verifier,
  }, fetcher)
  return { tokens, returnTo: pending.returnTo || '/' }
}

export function refresh(config: OidcConfig, discovery: Discovery, refreshToken: string, fetcher: typeof fetch = fetch): Promise<TokenSet> {
  return tokenRequest(discovery, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.client_id }, fetcher)
}

export function logoutUrl(discovery: Discovery, idToken?: string): string | null {
  if (!discovery.end_session_endpoint) return null
  const params = new URLSearchParams({ post_logout_redirect_uri: `${window.location.origin}/login` })
  if (idToken) params.set('id_token_hint', idToken)
  return `${discovery.end_session_endpoint}?${params}`
}
