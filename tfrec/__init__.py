"""tfrec: faithful Keras 3 implementations of multimodal and metric-learning recommenders."""

__version__ = "0.1.0"
