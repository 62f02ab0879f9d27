"""The DCNN of Table 2, its stacked (STN) and multi-task (MTN) forms, the wSTN width, and the network input."""

from agf.lazy import lazy_exports

_EXPORTS = {
    "DCNN": "agf.models.dcnn",
    "count_parameters": "agf.models.dcnn",
    "Standardiser": "agf.models.input",
    "network_input": "agf.models.input",
    "MultiTaskDCNN": "agf.models.multitask",
    "TaskNetwork": "agf.models.multitask",
    "StackedDCNN": "agf.models.stacked",
    "match_width": "agf.models.width",
    "setup_parameters": "agf.models.width",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
