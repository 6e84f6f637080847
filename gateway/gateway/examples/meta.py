"""Example requests of the API's own routes."""
from gateway.examples import Step

STEPS = [
    Step("api_index", "", "Where the API's documents are", "API 文档的位置"),
    Step("whoami", "E1003", "Wang Fang (an engineer) asks who she is to the API", "王芳（工程师）查看自己的身份与权限"),
]
