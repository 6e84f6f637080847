"""Example requests of the feedback routes: check-ins, key events, praise and the team board, this month."""
from gateway.examples import Step

MANAGER, ENGINEER, PEER = "E1002", "E1003", "E1004"

STEPS = [
    Step("get_calendar", ENGINEER, "The check-in calendar", "面谈日历"),
    Step("give_praise", ENGINEER, "Wang Fang thanks Li Lei", "王芳感谢李雷",
         body={"person_id": PEER,
               "text": "感谢你连夜排查支付故障！Thanks for chasing the payments incident overnight!"}),
    Step("record_key_event", MANAGER, "Zhang Min records Wang Fang's failover drill", "张敏记录王芳主导的故障切换演练",
         body={"person_id": ENGINEER, "polarity": "positive", "occurred_on": "2026-12-01",
               "title": "主导数据库主备切换演练 Led the database failover drill",
               "evidence_text": "演练 12 分钟完成，零数据丢失 Done in 12 minutes, no data lost"}),
    Step("list_key_events", MANAGER, "Key events about Wang Fang", "关于王芳的关键事件", query={"person_id": ENGINEER}),
    Step("list_checkins", MANAGER, "This month's check-ins", "本月的一对一面谈",
         query={"month": "2026-12", "manager_id": MANAGER}),
    Step("get_cadence", MANAGER, "Zhang Min's coaching cadence this month", "张敏本月的辅导节奏",
         query={"month": "2026-12"}),
    Step("get_team_board", MANAGER, "Zhang Min's team board", "张敏的团队看板"),
]
