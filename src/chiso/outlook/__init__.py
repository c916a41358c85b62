"""The outlook room: forecasts at the deadline, statuses, the progress measure, the sentence a
person can act on, and task warnings. Pure functions over time series (docs/outlook.md)."""

from chiso.outlook.forecast import Forecast, forecast, straight_line
from chiso.outlook.progress import Progress, ProgressCategory, progress_measure
from chiso.outlook.sentence import sentence
from chiso.outlook.series import Point, TargetTerms
from chiso.outlook.status import Assessment, Rule, Status, assess
from chiso.outlook.tasks import Evidence, TaskWarning, TaskWarningKind, task_warnings

__all__ = [
    "Assessment", "Evidence", "Forecast", "Point", "Progress", "ProgressCategory", "Rule",
    "Status", "TargetTerms", "TaskWarning", "TaskWarningKind", "assess", "forecast",
    "progress_measure", "sentence", "straight_line", "task_warnings",
]
