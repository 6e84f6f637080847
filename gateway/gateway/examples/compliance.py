"""Example requests of the directory, privacy and settings routes (compliance), on the demo organisation."""
from gateway.examples import Step

HR, ADMIN = "E1010", "E1000"  # Zhao Yun, HR over the whole company; Chen Jie, the administrator

STEPS = [
    Step("upsert_org_unit", HR, "HR adds a Sales unit under the company", "HR 在公司下新增销售部",
         path={"org_unit_id": "U-SALES"}, body={"name": "销售部 Sales", "parent_id": "U-HQ"}),
    Step("upsert_person", HR, "HR records a new sales representative", "HR 录入一名新的销售代表",
         path={"person_id": "E1030"},
         body={"name": "周杰 Zhou Jie", "org_unit_id": "U-SALES", "manager_id": "E1000",
               "email": "zhou.jie@demo.jixiao.dev", "job_family": "sales", "grade": "P4"}),
    Step("get_person", HR, "HR reads Wang Fang's directory record", "HR 查看王芳的人员档案",
         path={"person_id": "E1003"}),
    Step("list_people", HR, "HR lists the Platform team", "HR 列出平台组的成员", query={"org_unit_id": "U-PLAT"}),
    Step("get_grants", ADMIN, "The administrator reads Sun Li's (the auditor's) roles", "管理员查看审计员孙丽的角色",
         path={"person_id": "E1020"}),
    Step("privacy_notice", "E1003", "An employee reads the privacy notice", "员工阅读隐私声明"),
]

AUDITOR, ENGINEER = "E1020", "E1003"

STEPS += [
    Step("get_settings", ADMIN, "The compliance settings", "合规设置"),
    Step("list_appeals", ENGINEER, "Wang Fang's appeals", "王芳的申诉"),
    Step("list_holds", ADMIN, "Legal holds in force", "生效中的法律保全"),
    Step("query_audit", AUDITOR, "The auditor reads what happened to Wang Fang's records",
         "审计员查看王芳相关的审计记录",
         query={"subject": "E1003", "limit": 5}),
    Step("verify_audit", AUDITOR, "The auditor verifies the audit chain", "审计员校验审计链", body={}),
    Step("register_client", ADMIN, "The administrator registers the payroll system", "管理员登记薪酬系统为客户端",
         body={"name": "薪酬系统 Payroll", "dpa_ref": "DPA-2026-017",
               "dpa_expires": "2027-12-31T23:59:59+08:00"}),
    Step("list_clients", ADMIN, "The registered clients", "已登记的客户端"),
    Step("get_client", ADMIN, "The payroll system's registration", "薪酬系统的登记信息",
         path={"client_id": "${register_client.client_id}"}),
]
