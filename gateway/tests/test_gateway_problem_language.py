"""Problem documents in the caller's language over real HTTP, through the gateway and the services behind it:
`Accept-Language: zh-CN` gets Chinese titles and field messages (field names untouched), q-values decide, and an
unknown language gets English."""


def test_problems_answer_in_the_language_the_caller_prefers(seeded):
    employee = seeded.as_("E1")
    bad_goal = {"title": "", "weight": "heavy", "colour": "red"}

    english = employee.post("/api/v1/goals", bad_goal)
    chinese = employee.post("/api/v1/goals", bad_goal, headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 400
    assert english.headers["Content-Language"] == "en" and chinese.headers["Content-Language"] == "zh-CN"
    assert "Accept-Language" in chinese.headers["Vary"]
    en, zh = english.json(), chinese.json()
    assert en["title"] == "Invalid input" and zh["title"] == "输入无效"
    assert [e["field"] for e in zh["errors"]] == [e["field"] for e in en["errors"]]  # API names stay
    by_field = {e["field"]: e["message"] for e in zh["errors"]}
    assert by_field["colour"] == "未知字段。"
    assert by_field["weight"] == "不是有效的数字。"
    assert all(not e["message"].isascii() for e in zh["errors"]), zh["errors"]
    assert zh["type"] == en["type"] and zh["status"] == 400

    # an error a service raised: its title by code
    missing = employee.get("/api/v1/goals/G-does-not-exist", headers={"Accept-Language": "zh-CN,en;q=0.5"})
    assert missing.status_code == 404 and missing.json()["title"] == "未找到"

    # q-values decide; languages the catalogue lacks fall back to English
    assert employee.get("/api/v1/goals/G-x", headers={"Accept-Language": "zh-CN;q=0.3, en;q=0.9"}).json()[
        "title"] == "Not found"
    french = employee.get("/api/v1/goals/G-x", headers={"Accept-Language": "fr-FR, de;q=0.8"})
    assert french.json()["title"] == "Not found" and french.headers["Content-Language"] == "en"

    # the gateway's own answers too: no route, no credentials
    assert employee.get("/api/v2/nothing", headers={"Accept-Language": "zh"}).json()["title"] == "未找到"
    anonymous = employee.as_(None).get("/api/v1/goals", headers={"Accept-Language": "zh-CN"})
    assert anonymous.status_code == 401 and anonymous.json()["title"] == "需要身份验证"
    # a success is untouched
    assert "Content-Language" not in employee.get("/api/v1/me", headers={"Accept-Language": "zh-CN"}).headers
