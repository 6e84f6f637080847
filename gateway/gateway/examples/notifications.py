"""Example requests of the notification routes: the inbox, preferences, templates, webhooks and AMQP consumers."""
# ruff: noqa: RUF001 - the Chinese text is written with Chinese (full-width) punctuation
from gateway.examples import Step

ENGINEER, HR, ADMIN = "E1003", "E1010", "E1000"
CLIENT = "${register_client.client_id}"

STEPS = [
    Step("unread_count", ENGINEER, "How many unread notifications", "未读通知数"),
    Step("list_inbox", ENGINEER, "Wang Fang's inbox", "王芳的站内信"),
    Step("mark_read", ENGINEER, "She marks the first one read", "她将第一条标为已读",
         body={"notification_ids": ["${list_inbox.items.0.notification_id}"]}),
    Step("list_attempts", ADMIN, "How Wang Fang's notification was delivered", "王芳那条通知的投递记录",
         query={"notification_id": "${list_inbox.items.0.notification_id}"}),
    Step("get_preferences", ENGINEER, "Her notification preferences", "她的通知偏好"),
    Step("set_preferences", ENGINEER, "In Chinese, by email and SMS, quiet at night", "中文、邮件与短信，夜间免打扰",
         body={"language": "zh-CN", "timezone": "Asia/Shanghai", "email": "wang.fang@demo.jixiao.dev",
               "phone": "+8613800138000", "channels": ["email", "sms"],
               "quiet_hours": {"start": "22:00", "end": "08:00"}, "digest_hour": 9}),
    Step("list_notification_templates", HR, "The notification templates", "通知模板"),
    Step("save_notification_template", ADMIN, "A shorter SMS for zero activity", "更简短的零活动短信模板",
         path={"kind": "activity.zero", "language": "zh-CN", "channel": "sms"},
         body={"title": "零活动提醒", "body": "【绩效】有成员连续{weeks}周无活动，请登录查看。"}),
    Step("create_subscription", ADMIN, "The payroll system subscribes to rating events", "薪酬系统订阅评级事件",
         body={"client_id": CLIENT, "url": "https://payroll.demo.jixiao.dev/hooks/jixiao",
               "event_types": ["jixiao.feedback.rating.amended.v1"], "ordered": True}),
    Step("list_subscriptions", ADMIN, "The payroll system's subscriptions", "薪酬系统的订阅",
         query={"client_id": CLIENT}),
    Step("replay_subscription", ADMIN, "Deliver everything since 1 December again", "重新投递 12 月 1 日以来的事件",
         path={"subscription_id": "${create_subscription.subscription_id}"},
         body={"since": "2026-12-01T00:00:00+08:00"}),
    Step("list_deliveries", ADMIN, "The subscription's deliveries", "该订阅的投递记录",
         path={"subscription_id": "${create_subscription.subscription_id}"}),
    Step("create_amqp_consumer", ADMIN, "The payroll system's own RabbitMQ queue", "为薪酬系统创建专属 RabbitMQ 队列",
         body={"client_id": CLIENT}),
    Step("list_amqp_consumers", ADMIN, "The AMQP consumers", "AMQP 消费者", query={"client_id": CLIENT}),
]
