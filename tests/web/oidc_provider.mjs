// A real OpenID Connect provider for the sign-in test: panva's oidc-provider (a certified implementation, from
// the npm registry), with its development login form. One public client (the web app: PKCE, no secret), access
// tokens as RS256 JWTs for the API's audience, refresh tokens, RP-initiated logout.
//
// env: PORT, REDIRECT_URI, POST_LOGOUT_URI, AUDIENCE, API_SCOPES, JWKS_OUT (where the public keys go), WEB_DIR,
//      ACCESS_TTL (seconds)
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const WEB_DIR = process.env.WEB_DIR ?? path.resolve(import.meta.dirname, '../../web')
const mod = (p) => import(pathToFileURL(path.join(WEB_DIR, 'node_modules', p)).href)
const { default: Provider } = await mod('oidc-provider/lib/index.js')
const jose = await mod('jose/dist/webapi/index.js').catch(() => mod('oidc-provider/node_modules/jose/dist/webapi/index.js'))

const PORT = Number(process.env.PORT)
const ISSUER = `http://127.0.0.1:${PORT}`
const AUDIENCE = process.env.AUDIENCE
const API_SCOPES = (process.env.API_SCOPES ?? '').split(' ').filter(Boolean)

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true })
const kid = 'test-key-1'
const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' }
const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }
writeFileSync(process.env.JWKS_OUT, JSON.stringify({ keys: [publicJwk] }))

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'jixiao-web', token_endpoint_auth_method: 'none', application_type: 'web',
    redirect_uris: [process.env.REDIRECT_URI], post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  }],
  jwks: { keys: [privateJwk] },
  scopes: ['openid', 'offline_access', 'profile', 'email', ...API_SCOPES],
  // the login form's name is the person's id in the directory (E1003 is the demo employee)
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: { AccessToken: Number(process.env.ACCESS_TTL ?? 60), RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600, IdToken: 3600 },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: API_SCOPES.join(' '), audience: AUDIENCE, accessTokenFormat: 'jwt',
        accessTokenTTL: Number(process.env.ACCESS_TTL ?? 60), jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  pkce: { required: () => true },
})
provider.proxy = false
provider.listen(PORT, '127.0.0.1', () => console.log(JSON.stringify({ issuer: ISSUER })))
