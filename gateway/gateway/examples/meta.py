"""Example requests of the API's own routes."""
# ruff: noqa: RUF001 - the Chinese text is written with Chinese (full-width) punctuation
from gateway.examples import Step

STEPS = [
    Step("api_index", "", "Where the API's documents are", "API 文档的位置"),
    Step("dev_login", "", "Sign in as the demo manager (development only)", "以演示经理身份登录（仅开发环境）",
         body={"user": "manager"}),
    Step("whoami", "E1003", "Wang Fang (an engineer) asks who she is to the API", "王芳（工程师）查看自己的身份与权限"),
]
