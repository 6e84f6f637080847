"""The goals service's RPCs, declared once (contracts.rpc): method -> request, response, the access it needs.

Checked by tests/architecture/test_rpc_tables.py against goals.service.GoalsService and the gateway's goals routes;
`python -m contracts.rpc goals` prints the README table."""
from __future__ import annotations

from contracts import bulk as b
from contracts import compliance as dsr
from contracts import goals as c
from contracts.rpc import Rpc, RpcTable

TABLE = RpcTable("goals", [
    # cycles
    Rpc("create_cycle", c.CreateCycle, c.CycleView, "company.manage", "Create a cycle (year, quarter or month)"),
    Rpc("transition_cycle", c.TransitionCycle, c.CycleView, "company.manage", "Open, lock or close a cycle"),
    Rpc("get_cycle", c.GetCycle, c.CycleView, "none (cycles are public)", "Read a cycle"),
    Rpc("list_cycles", c.ListCycles, c.CycleList, "none (cycles are public)", "List cycles"),
    # goals
    Rpc("create_goal", c.CreateGoal, c.GoalView, "goal.create", "Create a goal (OKR with key results, or KPI)"),
    Rpc("update_goal", c.UpdateGoal, c.GoalView, "goal.update", "Change a goal (only the fields given)"),
    Rpc("get_goal", c.GetGoal, c.GoalView, "goal.read", "Read a goal"),
    Rpc("list_goals", c.ListGoals, c.GoalList, "goal.read", "List goals of a cycle (default: the caller's own)"),
    Rpc("list_goal_changes", c.ListGoalChanges, c.GoalChangeList, "goal.read", "A goal's change trail"),
    Rpc("get_goal_tree", c.GetGoalTree, c.GoalTree, "goal.read", "A goal's ancestors and descendants"),
    Rpc("set_weights", c.SetWeights, c.WeightsView, "goal.update",
        "Set the weights of one person's goals in a cycle (they total 100)"),
    # progress
    Rpc("record_progress", c.RecordProgress, c.ProgressRecorded, "goal.progress",
        "Record a key result's value or the KPI actual"),
    Rpc("list_progress", c.ListProgress, c.ProgressHistory, "goal.read", "A goal's progress history"),
    # negotiation
    Rpc("propose_change", c.ProposeChange, c.ProposalView, "goal.negotiate (owner and manager only)",
        "Propose changes to goals (target, weight, deadline, resources)"),
    Rpc("counter_proposal", c.CounterProposal, c.ProposalView, "a party to the thread", "Answer with another"),
    Rpc("accept_proposal", c.AnswerProposal, c.ProposalView, "a party to the thread", "Accept a proposal"),
    Rpc("reject_proposal", c.AnswerProposal, c.ProposalView, "a party to the thread", "Reject a proposal"),
    Rpc("withdraw_proposal", c.AnswerProposal, c.ProposalView, "a party to the thread", "Withdraw a proposal"),
    Rpc("get_negotiation", c.GetNegotiation, c.NegotiationHistory, "goal.read", "A goal's negotiation history"),
    Rpc("list_proposals", c.ListProposals, c.ProposalList, "the caller's own threads", "Proposals to answer"),
    # commitments
    Rpc("record_commitment", c.RecordCommitment, c.CommitmentView, "commitment.record",
        "Record a resource commitment to a goal"),
    Rpc("update_commitment", c.UpdateCommitment, c.CommitmentView, "commitment.record", "Change a commitment"),
    Rpc("list_commitments", c.ListCommitments, c.CommitmentList, "goal.read", "A goal's commitments"),
    # colours and reviews
    Rpc("run_status_sweep", c.RunStatusSweep, c.SweepResult, "company.manage",
        "Recolour the goals of the cycles open on a date (a later date previews)"),
    Rpc("list_reviews", c.ListReviews, c.ReviewList, "the caller's own reviews", "Reviews opened by red goals"),
    Rpc("complete_review", c.CompleteReview, c.ReviewView, "the goal's owner or reviewing manager",
        "Close a review with its outcome"),
    # allocation
    Rpc("preview_allocation", c.PreviewAllocation, c.AllocationPreview, "goal.update of the parent",
        "Preview a weighted allocation of a target across children"),
    Rpc("apply_allocation", c.ApplyAllocation, c.AllocationResult, "goal.negotiate",
        "Propose the allocation to each child"),
    # library
    Rpc("save_indicator", c.SaveIndicator, c.IndicatorView, "company.manage", "Save an indicator (formula)"),
    Rpc("list_indicators", c.ListIndicators, c.IndicatorList, "none (the library is shared)", "List indicators"),
    Rpc("save_template", c.SaveTemplate, c.TemplateView, "company.manage", "Save an assessment template"),
    Rpc("list_templates", c.ListTemplates, c.TemplateList, "none (the library is shared)", "List templates"),
    Rpc("list_presets", None, c.PresetList, "none (the library is shared)", "List the industry presets"),
    Rpc("install_preset", c.InstallPreset, c.PresetView, "company.manage", "Install an industry preset"),
    Rpc("assign_template", c.AssignTemplate, c.AssignmentResult, "goal.read of the parent goal",
        "Assign a template's goals to people"),
    Rpc("check_formula", c.CheckFormula, c.FormulaCheck, "none (checks text only)", "Check a formula"),
    Rpc("set_custom_fields", c.SetCustomFields, c.CustomFieldsView, "people.configure",
        "Set a person's custom field values"),
    Rpc("get_scorecard", c.GetScoreCard, c.ScoreCard, "goal.read", "A person's score card"),
    Rpc("get_board", c.BoardQuery, c.Board, "company.manage, else goal.read of the unit or person",
        "The goal board, drilled down by unit, owner or line"),
    Rpc("get_team_dashboard", c.GetTeamDashboard, c.TeamDashboard, "goal.read of the caller's line (per section)",
        "A manager's dashboard, goals' sections (colours, red goals, proposals, reviews) in one call"),
    # bulk in and out
    Rpc("import_file", b.ImportFile, b.GoalImportJob, "goal.create per row (goals), company.manage (library)",
        "Start importing goals, indicators or templates from CSV/XLSX as a job (dry run, or all or nothing)"),
    Rpc("get_import_job", b.GoalImportJobRef, b.GoalImportJob, "the requester, or company.manage",
        "An import job: state, phase, rows done of the total, the report once done"),
    Rpc("export_board", b.ExportPage, b.ExportRows, "company.manage, else goal.read of the unit",
        "A page of the board's goals in key order, for a streamed export"),
    # other services
    Rpc("export_subject_data", dsr.ExportSubjectData, dsr.SubjectDataExport, "dsr.request",
        "A person's goals data for a data-subject export (compliance asks)"),
])
