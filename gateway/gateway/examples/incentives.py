"""Example requests of the incentives routes: rewards, points, stars and proposals."""
from gateway.examples import Step

ENGINEER, HR = "E1003", "E1010"

STEPS = [
    Step("list_rewards", ENGINEER, "The reward catalogue", "奖品目录"),
    Step("get_points", ENGINEER, "Wang Fang's points", "王芳的积分", path={"person_id": ENGINEER}),
    Step("list_redemptions", ENGINEER, "Her redemptions", "她的兑换记录"),
    Step("list_process_rules", HR, "The process reward rules", "过程奖励规则"),
    Step("list_bonus_proposals", HR, "Bonus proposals for Wang Fang", "王芳的奖金方案", query={"person_id": ENGINEER}),
    Step("list_stars", ENGINEER, "This quarter's stars", "本季度的明星员工", query={"quarter": "2026-Q4"}),
]
