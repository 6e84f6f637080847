// The cycles a person can choose from, and the one the pages show (the open cycle running today by default).
import { defineStore } from 'pinia'
import { goals } from '../api/endpoints'
import type { Cycle } from '../api/types'

export function currentCycle(cycles: Cycle[], today: string): Cycle | null {
  const running = (c: Cycle) => c.starts_on <= today && today <= c.ends_on
  const order = (c: Cycle) => ({ month: 0, quarter: 1, year: 2 })[c.period]
  const open = cycles.filter((c) => c.state === 'open')
  const now = open.filter(running).sort((a, b) => order(a) - order(b))
  return now[0] ?? open[0] ?? cycles.find(running) ?? cycles[0] ?? null
}

export const useCycles = defineStore('cycles', {
  state: () => ({ items: [] as Cycle[], selected: null as string | null, loaded: false, error: null as Error | null }),
  getters: {
    cycle: (s): Cycle | null => s.items.find((c) => c.id === s.selected) ?? null,
  },
  actions: {
    async load(force = false) {
      if (this.loaded && !force) return
      try {
        this.items = (await goals.cycles()).items
        this.error = null
      } catch (e) {
        this.error = e as Error
        this.items = []
      }
      this.loaded = true
      if (!this.items.some((c) => c.id === this.selected)) {
        this.selected = currentCycle(this.items, new Date().toISOString().slice(0, 10))?.id ?? null
      }
    },
  },
})
