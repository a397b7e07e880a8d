"""Training: presets, optimizers with the authors' constants, and the fit loop."""

from tfrec.training.optimizers import make_optimizer
from tfrec.training.presets import Preset
from tfrec.training.presets import get_preset
from tfrec.training.presets import list_presets
from tfrec.training.trainer import build_model
from tfrec.training.trainer import fit
from tfrec.training.trainer import make_sampler
