import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/theme-chalk/base.css'
import 'element-plus/theme-chalk/el-message.css'
import './style.css'
import App from './App.vue'
import { makeI18n, initialLocale } from './i18n'
import { makeRouter } from './router'
import { connectHttp, useSession } from './stores/session'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
const locale = initialLocale()
document.documentElement.lang = locale
app.use(makeI18n(locale))
const router = makeRouter()
const session = useSession(pinia)
session.restore()
connectHttp(session, () => { void router.replace('/session-expired') })
void session.loadConfig()
app.use(router)
app.mount('#app')
