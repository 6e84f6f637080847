"""The goals service over HTTP: cycles, goals and their trees, key results and KPIs, progress, negotiation,
commitments, status reviews, allocation, the indicator and template library, the board."""
from __future__ import annotations

from contracts import bulk as b
from contracts import goals as c
from gateway.api import Route
from gateway.exports import exported
from gateway.pagination import GATEWAY, SERVICE
from gateway.routes.build import rpc_route

READ, WRITE = "goals:read", "goals:write"
BULK = 16 * 1024 * 1024  # bodies naming thousands of people or goals (template assignment, allocation)


def routes() -> list[Route]:
    def r(method, path, rpc, summary, tag, scope, **options):
        return rpc_route(method, path, f"goals.{rpc}", summary=summary, scope=scope, tag=tag, **options)

    return [
        # bulk in and out (contracts.bulk)
        r("POST", "/goals/imports", "import_file",
          "Import goals, indicators or templates from CSV/XLSX: a dry run by default, all or nothing on apply. "
          "Answers 202 with the job: poll it (GET /goals/imports/{job_id}) until done or failed",
          "imports", WRITE, request=b.ImportFile, response=b.GoalImportJob, status=202,
          max_body=b.MAX_IMPORT_BYTES * 3 // 2),
        r("GET", "/goals/imports/{job_id}", "get_import_job",
          "An import job: state, phase, rows done of the total, per-row errors in its report once done", "imports",
          READ, request=b.GoalImportJobRef, response=b.GoalImportJob),
        exported(r("GET", "/cycles/{cycle_id}/board/export", "export_board",
                   "The board's goals as CSV or XLSX, streamed", "board", READ,
                   request=b.ExportPage, response=b.ExportRows), "board"),
        # cycles
        r("POST", "/cycles", "create_cycle", "Create a cycle (year, quarter or month)", "cycles", WRITE,
          request=c.CreateCycle, response=c.CycleView, creates=True),
        r("GET", "/cycles", "list_cycles", "List cycles", "cycles", READ,
          request=c.ListCycles, response=c.CycleList, paging=SERVICE),
        r("GET", "/cycles/{cycle_id}", "get_cycle", "Read a cycle", "cycles", READ,
          request=c.GetCycle, response=c.CycleView),
        r("POST", "/cycles/{cycle_id}/transitions", "transition_cycle",
          "Open, lock or close a cycle", "cycles", WRITE, request=c.TransitionCycle, response=c.CycleView),
        r("PUT", "/cycles/{cycle_id}/people/{person_id}/weights", "set_weights",
          "Set the weights of one person's goals in a cycle (they total 100)", "goals", WRITE,
          request=c.SetWeights, response=c.WeightsView),
        r("PUT", "/cycles/{cycle_id}/people/{person_id}/custom-fields", "set_custom_fields",
          "Set a person's custom field values (formula indicators recompute)", "library", WRITE,
          request=c.SetCustomFields, response=c.CustomFieldsView),
        r("GET", "/cycles/{cycle_id}/people/{person_id}/scorecard", "get_scorecard",
          "A person's score card against an assessment template", "library", READ,
          request=c.GetScoreCard, response=c.ScoreCard),
        r("GET", "/cycles/{cycle_id}/board", "get_board",
          "The goal board: colour counts and weighted progress, drilled down by unit, owner or reporting line",
          "board", READ, request=c.BoardQuery, response=c.Board, paging=SERVICE),
        # goals
        r("POST", "/goals", "create_goal", "Create a goal (OKR with key results, or KPI)", "goals", WRITE,
          request=c.CreateGoal, response=c.GoalView, creates=True),
        r("GET", "/goals", "list_goals", "List goals of a cycle (default: the caller's own)", "goals", READ,
          request=c.ListGoals, response=c.GoalList, paging=SERVICE),
        r("GET", "/goals/{goal_id}", "get_goal", "Read a goal", "goals", READ,
          request=c.GetGoal, response=c.GoalView),
        r("PATCH", "/goals/{goal_id}", "update_goal", "Change a goal (only the fields given)", "goals", WRITE,
          request=c.UpdateGoal, response=c.GoalView),
        r("GET", "/goals/{goal_id}/changes", "list_goal_changes",
          "A goal's change trail: who changed what, when, before and after, and why", "goals", READ,
          request=c.ListGoalChanges, response=c.GoalChangeList, paging=SERVICE),
        r("GET", "/goals/{goal_id}/tree", "get_goal_tree", "A goal's tree: ancestors and descendants", "goals",
          READ, request=c.GetGoalTree, response=c.GoalTree),
        # progress
        r("POST", "/goals/{goal_id}/progress", "record_progress",
          "Record progress on a goal (a key result's value, or the KPI actual)", "progress", WRITE,
          request=c.RecordProgress, response=c.ProgressRecorded, creates=True),
        r("GET", "/goals/{goal_id}/progress", "list_progress", "A goal's progress history", "progress", READ,
          request=c.ListProgress, response=c.ProgressHistory, paging=SERVICE),
        # negotiation
        r("POST", "/proposals", "propose_change", "Propose changes to goals (target, weight, deadline, "
          "resources)", "negotiation", WRITE, request=c.ProposeChange, response=c.ProposalView, creates=True),
        r("POST", "/proposals/{proposal_id}/counter", "counter_proposal", "Answer a proposal with another",
          "negotiation", WRITE, request=c.CounterProposal, response=c.ProposalView),
        r("POST", "/proposals/{proposal_id}/accept", "accept_proposal", "Accept a proposal (its changes apply)",
          "negotiation", WRITE, request=c.AnswerProposal, response=c.ProposalView),
        r("POST", "/proposals/{proposal_id}/reject", "reject_proposal", "Reject a proposal", "negotiation", WRITE,
          request=c.AnswerProposal, response=c.ProposalView),
        r("POST", "/proposals/{proposal_id}/withdraw", "withdraw_proposal", "Withdraw one's own proposal",
          "negotiation", WRITE, request=c.AnswerProposal, response=c.ProposalView),
        r("GET", "/proposals", "list_proposals", "Proposals in the caller's negotiation threads (as a goal's owner "
          "or their manager), newest first", "negotiation", READ, request=c.ListProposals, response=c.ProposalList,
          paging=SERVICE),
        r("GET", "/goals/{goal_id}/negotiation", "get_negotiation", "The negotiation threads about a goal",
          "negotiation", READ, request=c.GetNegotiation, response=c.NegotiationHistory),
        # commitments
        r("POST", "/goals/{goal_id}/commitments", "record_commitment",
          "Record a resource commitment to a goal (training, budget, collaboration)", "commitments", WRITE,
          request=c.RecordCommitment, response=c.CommitmentView, creates=True),
        r("GET", "/goals/{goal_id}/commitments", "list_commitments", "A goal's commitments", "commitments", READ,
          request=c.ListCommitments, response=c.CommitmentList, paging=GATEWAY),
        r("PATCH", "/commitments/{commitment_id}", "update_commitment", "Mark a commitment delivered or missed",
          "commitments", WRITE, request=c.UpdateCommitment, response=c.CommitmentView),
        # status and reviews
        r("POST", "/status-sweeps", "run_status_sweep", "Re-evaluate every goal's colour as of a date",
          "reviews", WRITE, request=c.RunStatusSweep, response=c.SweepResult),
        r("GET", "/reviews", "list_reviews", "Status reviews (opened when a goal turns red)", "reviews", READ,
          request=c.ListReviews, response=c.ReviewList, paging=SERVICE),
        r("POST", "/reviews/{review_id}/complete", "complete_review", "Complete a status review", "reviews",
          WRITE, request=c.CompleteReview, response=c.ReviewView),
        # allocation
        r("POST", "/goals/{parent_goal_id}/allocations/preview", "preview_allocation",
          "Preview splitting a goal's target among its children", "allocation", READ,
          request=c.PreviewAllocation, response=c.AllocationPreview, max_body=BULK),
        r("POST", "/goals/{parent_goal_id}/allocations", "apply_allocation",
          "Apply an allocation: proposals to each child's owner", "allocation", WRITE,
          request=c.ApplyAllocation, response=c.AllocationResult, creates=True, max_body=BULK),
        # library
        r("GET", "/indicators", "list_indicators", "The indicator library", "library", READ,
          request=c.ListIndicators, response=c.IndicatorList, paging=SERVICE),
        r("PUT", "/indicators/{code}", "save_indicator", "Create or change an indicator", "library", WRITE,
          request=c.SaveIndicator, response=c.IndicatorView),
        r("GET", "/templates", "list_templates", "Assessment templates", "library", READ,
          request=c.ListTemplates, response=c.TemplateList, paging=SERVICE),
        r("PUT", "/templates/{code}", "save_template", "Create or change an assessment template", "library",
          WRITE, request=c.SaveTemplate, response=c.TemplateView),
        r("POST", "/templates/{template_code}/assignments", "assign_template",
          "Give people goals from a template", "library", WRITE, request=c.AssignTemplate,
          response=c.AssignmentResult, creates=True, max_body=BULK),
        r("GET", "/presets", "list_presets", "Industry presets of indicators and templates", "library", READ,
          response=c.PresetList, paging=GATEWAY),
        r("POST", "/presets/{code}/install", "install_preset", "Install a preset", "library", WRITE,
          request=c.InstallPreset, response=c.PresetView),
        r("POST", "/formulas/check", "check_formula", "Check a formula indicator's expression", "library", READ,
          request=c.CheckFormula, response=c.FormulaCheck),
    ]
