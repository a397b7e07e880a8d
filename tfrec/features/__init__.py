"""Item features: the HDF5 feature store, extractors (Doc2Vec PV-DM text, CNN images) and
loaders of the MAML authors' released feature files."""

from tfrec.features.authors_files import load_asin_sample
from tfrec.features.authors_files import load_doc2vec_model_features
from tfrec.features.authors_files import load_image_feature_npy
from tfrec.features.feature_store import FeatureStoreError
from tfrec.features.feature_store import read_features
from tfrec.features.feature_store import read_provenance
from tfrec.features.feature_store import write_features
from tfrec.features.image_features import build_image_backbone
from tfrec.features.image_features import cnn_image_features
from tfrec.features.image_features import load_image
from tfrec.features.item_features import item_feature_matrix
from tfrec.features.item_features import text_features_from_side_info
from tfrec.features.text_features import doc2vec_features
from tfrec.features.text_features import read_text_file
