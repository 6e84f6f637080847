// Pages and who may open them: the same roles the API grants (the API still decides every call).
import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import { useSession } from './stores/session'

export const ROUTES: RouteRecordRaw[] = [
  { path: '/', redirect: '/me' },
  { path: '/login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/auth/callback', component: () => import('./views/CallbackView.vue'), meta: { public: true } },
  { path: '/session-expired', component: () => import('./views/SessionExpiredView.vue'), meta: { public: true } },
  { path: '/forbidden', component: () => import('./views/ForbiddenView.vue'), meta: { public: true } },
  { path: '/me', component: () => import('./views/MeView.vue') },
  { path: '/team', component: () => import('./views/TeamView.vue'), meta: { roles: ['manager'] } },
  { path: '/board', component: () => import('./views/BoardView.vue') },
  { path: '/hr', component: () => import('./views/HrView.vue'), meta: { roles: ['hr', 'hrbp', 'admin'] } },
  { path: '/audit', component: () => import('./views/AuditView.vue'), meta: { roles: ['auditor', 'admin'] } },
  { path: '/admin', component: () => import('./views/AdminView.vue'), meta: { roles: ['admin'] } },
  { path: '/:rest(.*)*', component: () => import('./views/NotFoundView.vue'), meta: { public: true } },
]

export const NAV = [
  { to: '/me', key: 'nav.me' },
  { to: '/team', key: 'nav.team', roles: ['manager'] },
  { to: '/board', key: 'nav.board' },
  { to: '/hr', key: 'nav.hr', roles: ['hr', 'hrbp', 'admin'] },
  { to: '/audit', key: 'nav.audit', roles: ['auditor', 'admin'] },
  { to: '/admin', key: 'nav.admin', roles: ['admin'] },
]

export function makeRouter(history = createWebHistory()): Router {
  const router = createRouter({ history, routes: ROUTES })
  router.beforeEach(async (to) => {
    if (to.meta.public) return true
    const session = useSession()
    if (!session.token) return { path: '/login', query: { next: to.fullPath } }
    if (!session.me) {
      try { await session.loadMe() } catch { return session.token ? { path: '/login', query: { next: to.fullPath } } : '/session-expired' }
    }
    const roles = to.meta.roles as string[] | undefined
    if (roles && !session.hasRole(...roles)) return '/forbidden'
    return true
  })
  return router
}
