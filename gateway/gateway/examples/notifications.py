"""Example requests of the notification routes: the inbox and preferences."""
from gateway.examples import Step

ENGINEER, HR = "E1003", "E1010"

STEPS = [
    Step("unread_count", ENGINEER, "How many unread notifications", "未读通知数"),
    Step("list_inbox", ENGINEER, "Wang Fang's inbox", "王芳的站内信"),
    Step("get_preferences", ENGINEER, "Her notification preferences", "她的通知偏好"),
    Step("list_notification_templates", HR, "The notification templates", "通知模板"),
]
