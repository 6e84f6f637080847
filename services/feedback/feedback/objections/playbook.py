"""The default playbook (应对话术): suggested responses per objection; admins replace them (save_playbook)."""
DEFAULT_PLAYBOOK: dict[str, list[str]] = {
    "price": ["Reframe on value: quantify the hours saved per month against the fee / 用节省的工时量化价值",
              "Offer a smaller first phase instead of a discount / 先上核心模块, 分期实施"],
    "budget_timing": ["Align with their budget calendar and book the review date now / 对齐预算周期, 提前锁定评审时间",
                      "Propose a paid pilot that fits this year's remaining budget / 用小额试点占住预算"],
    "competitor": ["Ask what they value most in the other offer, then compare on that / 先问清对方看重什么再对比",
                   "Share a switching case with migration support / 提供迁移案例和迁移支持"],
    "authority": ["Map the decision chain and ask to meet the decision maker / 梳理决策链, 争取见到拍板人",
                  "Give the champion a one-page business case for their boss / 给内部支持者一页纸的汇报材料"],
    "need": ["Uncover the pain with questions about their current process / 通过提问挖掘现有流程的痛点",
             "Show a peer company's before/after numbers / 展示同行使用前后的数据"],
    "trust": ["Offer references and a site visit to a similar customer / 提供同行推荐人和参观机会",
              "Propose a pilot with clear success criteria / 设定明确成功标准的试点"],
}
