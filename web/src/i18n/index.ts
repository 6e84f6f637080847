import { createI18n } from 'vue-i18n'
import en from './en'
import zhCN from './zh-CN'

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
const KEY = 'jixiao.locale'

/** the saved choice, else zh-CN when the browser asks for Chinese, else English */
export function initialLocale(languages: readonly string[] = navigator.languages ?? [navigator.language], saved = localStorage.getItem(KEY)): Locale {
  if (saved === 'zh-CN' || saved === 'en') return saved
  for (const lang of languages) {
    const l = lang.toLowerCase()
    if (l.startsWith('zh')) return 'zh-CN'
    if (l.startsWith('en')) return 'en'
  }
  return 'en'
}

export function makeI18n(locale: Locale = initialLocale()) {
  return createI18n({ legacy: false, locale, fallbackLocale: 'en', messages: { en, 'zh-CN': zhCN } })
}

export function saveLocale(locale: Locale) {
  localStorage.setItem(KEY, locale)
  document.documentElement.lang = locale
}
