"""Item features: the HDF5 feature store and extractors (Doc2Vec PV-DM text features)."""

from tfrec.features.feature_store import FeatureStoreError
from tfrec.features.feature_store import read_features
from tfrec.features.feature_store import read_provenance
from tfrec.features.feature_store import write_features
from tfrec.features.text_features import doc2vec_features
from tfrec.features.text_features import read_text_file
