"""The DCNN of Table 2, its stacked (STN) and multi-task (MTN) forms, the wSTN width, and the network input."""

from agf.models.dcnn import DCNN, count_parameters
from agf.models.input import Standardiser, network_input
from agf.models.multitask import MultiTaskDCNN, TaskNetwork
from agf.models.stacked import StackedDCNN
from agf.models.width import match_width, setup_parameters

__all__ = ["DCNN", "MultiTaskDCNN", "StackedDCNN", "Standardiser", "TaskNetwork", "count_parameters",
           "match_width", "network_input", "setup_parameters"]
