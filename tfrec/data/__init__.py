"""Data: files -> InteractionLog -> splits -> Interactions."""

from tfrec.data.errors import ChecksumMismatchError
from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import FeatureTable
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import ItemSideInfo
from tfrec.data.interactions import LoadReport
from tfrec.data.registry import fill_cache_from
from tfrec.data.registry import list_datasets
from tfrec.data.registry import load_dataset
from tfrec.data.synthetic import make_synthetic
