// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { base64url, challengeOf, randomString } from '../../src/auth/pkce'

describe('PKCE (RFC 7636)', () => {
  it('derives the S256 challenge of the RFC 7636 appendix B example', async () => {
    expect(await challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  })
  it('makes verifiers of the allowed alphabet and length, never twice the same', () => {
    const a = randomString(48)
    const b = randomString(48)
    expect(a).toMatch(/^[A-Za-z0-9_-]{43,128}$/)
    expect(a).not.toBe(b)
  })
  it('encodes base64url without padding', () => {
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe('-_-_')
    expect(base64url(new Uint8Array([1]))).toBe('AQ')
  })
})
