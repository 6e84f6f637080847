import { ref, shallowRef, type Ref } from 'vue'
import { ApiError } from '../api/http'

/** one thing loaded from the API, with its loading / error / not-available / forbidden states */
export function useResource<T>(load: () => Promise<T>, opts: { immediate?: boolean } = {}) {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const loading = ref(false)
  const error = shallowRef<Error | null>(null)
  let seq = 0
  async function reload() {
    const mine = ++seq
    loading.value = true
    error.value = null
    try {
      const value = await load()
      if (mine === seq) data.value = value
    } catch (e) {
      if (mine === seq) error.value = e instanceof Error ? e : new Error(String(e))
    } finally {
      if (mine === seq) loading.value = false
    }
  }
  if (opts.immediate !== false) void reload()
  return { data, loading, error, reload }
}

/** the API's field messages of a failed submit, and the message for the form as a whole */
export function useFormErrors() {
  const fields = ref<Record<string, string>>({})
  const general = ref('')
  function take(e: unknown) {
    if (e instanceof ApiError) {
      fields.value = e.fields
      general.value = Object.keys(e.fields).length ? '' : e.message
    } else {
      fields.value = {}
      general.value = e instanceof Error ? e.message : String(e)
    }
  }
  function clear() { fields.value = {}; general.value = '' }
  return { fields, general, take, clear }
}

export function pct(value: unknown): number {
  const n = Number(value)
  if (!Number.isFinite(n)) return 0
  return Math.max(0, Math.min(100, Math.round(n * 1000) / 10))
}
