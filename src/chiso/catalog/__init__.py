"""The plan catalog (SPEC C1): plans, groups, targets, tasks and milestones as versioned
data files."""
