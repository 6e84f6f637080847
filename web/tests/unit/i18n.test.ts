import { describe, expect, it } from 'vitest'
import { initialLocale } from '../../src/i18n'
import en from '../../src/i18n/en'
import zh from '../../src/i18n/zh-CN'

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`])).sort()
}

describe('languages', () => {
  it('is Chinese when the browser asks for any Chinese, English otherwise', () => {
    expect(initialLocale(['zh-CN', 'en'], null)).toBe('zh-CN')
    expect(initialLocale(['zh-TW'], null)).toBe('zh-CN')
    expect(initialLocale(['en-GB', 'zh-CN'], null)).toBe('en')
    expect(initialLocale(['fr-FR', 'zh'], null)).toBe('zh-CN')
    expect(initialLocale(['fr-FR'], null)).toBe('en')
    expect(initialLocale([], null)).toBe('en')
  })
  it('keeps the choice the person made', () => {
    expect(initialLocale(['zh-CN'], 'en')).toBe('en')
    expect(initialLocale(['en'], 'zh-CN')).toBe('zh-CN')
    expect(initialLocale(['en'], 'klingon')).toBe('en')
  })
  it('has every message in both languages, none empty', () => {
    expect(keys(zh)).toEqual(keys(en))
    const flat = (o: object): string[] => Object.values(o).flatMap((v) => (typeof v === 'object' ? flat(v) : [v as string]))
    for (const text of [...flat(en), ...flat(zh)]) expect(text.trim()).not.toBe('')
  })
})
