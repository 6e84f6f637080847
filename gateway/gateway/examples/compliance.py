"""Example requests of the directory, privacy and settings routes (compliance), on the demo organisation."""
# ruff: noqa: RUF001 - the Chinese text is written with Chinese (full-width) punctuation
from base64 import b64encode

from gateway.examples import Step

HR, ADMIN = "E1010", "E1000"  # Zhao Yun, HR over the whole company; Chen Jie, the administrator
AUDITOR, ENGINEER, PEER = "E1020", "E1003", "E1004"

# the directory import HR uploads: two new sales people (the department by its id, the manager by employee number)
PEOPLE_CSV = ("工号,姓名,部门,上级工号,邮箱,职族,职级\n"
              "E1031,吴倩 Wu Qian,U-SALES,E1030,wu.qian@demo.jixiao.dev,sales,P3\n"
              "E1032,郑浩 Zheng Hao,U-SALES,E1030,zheng.hao@demo.jixiao.dev,sales,P3\n")

STEPS = [
    Step("upsert_org_unit", HR, "HR adds a Sales unit under the company", "HR 在公司下新增销售部",
         path={"org_unit_id": "U-SALES"}, body={"name": "销售部 Sales", "parent_id": "U-HQ"}),
    Step("upsert_org_unit", HR, "HR adds a pilot unit, removed again at the end", "HR 新增一个试点小组（最后删除）",
         path={"org_unit_id": "U-PILOT"}, body={"name": "试点小组 Pilot squad", "parent_id": "U-ENG"},
         name="upsert_pilot_unit"),
    Step("upsert_person", HR, "HR records a new sales representative", "HR 录入一名新的销售代表",
         path={"person_id": "E1030"},
         body={"name": "周杰 Zhou Jie", "org_unit_id": "U-SALES", "manager_id": "E1000",
               "email": "zhou.jie@demo.jixiao.dev", "job_family": "sales", "grade": "P4"}),
    Step("get_person", HR, "HR reads Wang Fang's directory record", "HR 查看王芳的人员档案",
         path={"person_id": "E1003"}),
    Step("list_people", HR, "HR lists the Platform team", "HR 列出平台组的成员", query={"org_unit_id": "U-PLAT"}),
    Step("get_grants", ADMIN, "The administrator reads Sun Li's (the auditor's) roles", "管理员查看审计员孙丽的角色",
         path={"person_id": "E1020"}),
    Step("set_grants", ADMIN, "Zhao Yun, HR, becomes Engineering's HR business partner as well",
         "HR 赵云兼任研发中心的 HRBP", path={"person_id": HR},
         body={"grants": [{"role": "hr", "org_unit_id": "U-HQ"}, {"role": "hrbp", "org_unit_id": "U-ENG"}]}),
    Step("decide", ENGINEER, "May Wang Fang read Li Lei's goal?", "王芳能否查看李雷的目标？",
         body={"action": "goal.read", "resource": {"kind": "goal", "owner": PEER, "org_unit": "U-PLAT"}}),
    Step("start_import", HR, "HR uploads two new sales people (a dry run first)", "HR 上传两名新销售人员（先试运行）",
         body={"filename": "销售部新员工 sales-hires.csv", "format": "csv",
               "content_base64": b64encode(PEOPLE_CSV.encode()).decode(), "within_unit": "U-SALES"}),
    Step("apply_import", HR, "HR applies the planned import", "HR 执行已计划的导入",
         path={"job_id": "${start_import.job_id}"}),
    Step("get_import", HR, "The import job, applied", "已执行的导入任务",
         path={"job_id": "${start_import.job_id}"}),
    Step("request_org_resync", ADMIN, "The administrator has every service take the directory again",
         "管理员让各服务重新同步组织架构", body={"reason": "组织架构调整后核对 Check after the reorganisation"}),
    Step("privacy_notice", "E1003", "An employee reads the privacy notice", "员工阅读隐私声明"),
]

STEPS += [
    Step("get_settings", ADMIN, "The compliance settings", "合规设置"),
    Step("apply_preset", ADMIN, "The administrator applies the PIPL preset", "管理员应用《个人信息保护法》预置",
         body={"preset": "pipl"}),
    Step("update_settings", ADMIN, "Appeals are decided within 15 days", "申诉须在 15 天内处理完毕",
         body={"settings": {"appeal_decision_days": 15}}),
    Step("list_appeals", ENGINEER, "Wang Fang's appeals", "王芳的申诉"),
    Step("place_hold", ADMIN, "A legal hold on Li Lei's records during a labour arbitration",
         "劳动仲裁期间对李雷的记录实施法律保全",
         body={"reason": "劳动仲裁 2026-杭-0173 Labour arbitration 2026-HZ-0173", "subject": PEER}),
    Step("list_holds", ADMIN, "Legal holds in force", "生效中的法律保全"),
    Step("release_hold", ADMIN, "The arbitration is settled: the hold is released", "仲裁结案，解除保全",
         path={"hold_id": "${place_hold.hold_id}"}),
    Step("query_audit", AUDITOR, "The auditor reads what happened to Wang Fang's records",
         "审计员查看王芳相关的审计记录",
         query={"subject": "E1003", "limit": 5}),
    Step("export_audit", AUDITOR, "The auditor exports Wang Fang's audit entries", "审计员导出王芳相关的审计记录",
         query={"subject": "E1003", "limit": 5}),
    Step("verify_audit", AUDITOR, "The auditor verifies the audit chain", "审计员校验审计链", body={}),
    Step("start_data_export", ENGINEER, "Wang Fang asks for a copy of her data", "王芳申请导出本人数据",
         body={"person_id": ENGINEER}),
    Step("get_dsr", ENGINEER, "Her export request", "她的数据导出申请",
         path={"request_id": "${start_data_export.request_id}"}),
    Step("register_client", ADMIN, "The administrator registers the payroll system", "管理员登记薪酬系统为客户端",
         body={"name": "薪酬系统 Payroll", "dpa_ref": "DPA-2026-017",
               "dpa_expires": "2027-12-31T23:59:59+08:00"}),
    Step("update_client", ADMIN, "The payroll system may read ratings and their events",
         "允许薪酬系统读取评级及其事件",
         path={"client_id": "${register_client.client_id}"},
         body={"scopes": ["feedback:read"], "event_patterns": ["jixiao.feedback.rating.*"]}),
    Step("issue_api_key", ADMIN, "A live API key for the payroll system", "为薪酬系统签发正式 API 密钥",
         path={"client_id": "${register_client.client_id}"}, body={"environment": "live"}),
    Step("list_clients", ADMIN, "The registered clients", "已登记的客户端"),
    Step("get_client", ADMIN, "The payroll system's registration", "薪酬系统的登记信息",
         path={"client_id": "${register_client.client_id}"}),
]

# after the review cycle is published (gateway.examples.feedback): Li Lei appeals his calibrated rating
APPEALS = [
    Step("submit_appeal", PEER, "Li Lei appeals his calibrated rating", "李雷对校准后的评级提出申诉",
         body={"target_kind": "rating", "target_ref": "${get_calibration.items.1.id}",
               "reasons": "校准时未计入 11 月的支付链路重构 The November payments refactor was not considered"}),
    Step("get_appeal", PEER, "Li Lei reads his appeal", "李雷查看他的申诉",
         path={"appeal_id": "${submit_appeal.appeal_id}"}),
    Step("start_appeal_review", HR, "HR starts reviewing the appeal", "HR 开始处理该申诉",
         path={"appeal_id": "${submit_appeal.appeal_id}"}),
    Step("decide_appeal", HR, "HR amends the rating to A", "HR 将评级改为 A",
         path={"appeal_id": "${submit_appeal.appeal_id}"},
         body={"outcome": "amended", "reason": "重构成果已核实 The refactor's results are confirmed",
               "amendment": {"label": "A"}}),
    Step("submit_appeal", ENGINEER, "Wang Fang appeals her OKR's result", "王芳对 OKR 结果提出申诉",
         body={"target_kind": "goal_result", "target_ref": "${create_goal.id}",
               "reasons": "可用性数据缺少 12 月 1 日之后的统计 Availability misses the data after 1 Dec"},
         name="submit_goal_appeal"),
    Step("withdraw_appeal", ENGINEER, "The data arrived: she withdraws it", "数据已补齐，她撤回申诉",
         path={"appeal_id": "${submit_goal_appeal.appeal_id}"}),
]

# last: what cannot be undone, on what the scenario made for it
CLOSING = [
    Step("revoke_api_key", ADMIN, "The payroll system's key is rotated out", "撤销薪酬系统的旧密钥",
         path={"key_id": "${issue_api_key.key_id}"}),
    Step("revoke_client", ADMIN, "The payroll system is retired", "薪酬系统停用，撤销其登记",
         path={"client_id": "${register_client.client_id}"}),
    Step("remove_org_unit", HR, "HR removes the pilot unit", "HR 删除试点小组", path={"org_unit_id": "U-PILOT"}),
    Step("request_erasure", HR, "Zheng Hao left: his data is erased", "郑浩已离职，删除其个人数据",
         body={"person_id": "E1032"}),
    Step("run_retention_sweep", ADMIN, "Today's retention sweep", "执行今天的保留期清理"),
]
