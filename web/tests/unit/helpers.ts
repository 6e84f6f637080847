import { mount, type ComponentMountingOptions } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import type { Component } from 'vue'
import { makeI18n, type Locale } from '../../src/i18n'

export function mountWith<C extends Component>(component: C, options: ComponentMountingOptions<C> = {}, locale: Locale = 'en') {
  const pinia = createPinia()
  setActivePinia(pinia)
  return mount(component, { ...options, global: { plugins: [pinia, makeI18n(locale)], ...(options.global ?? {}) } } as ComponentMountingOptions<C>)
}

/** a fetch answering one JSON document (the API's answers are JSON or problem+json) */
export function answering(status: number, body: unknown) {
  const calls: { url: string; init?: RequestInit }[] = []
  const fetcher = async (url: string, init?: RequestInit) => {
    calls.push({ url, init })
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } })
  }
  return { fetcher, calls }
}
