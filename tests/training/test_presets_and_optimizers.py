"""Presets resolve as documented; optimizers carry the TF1 constants."""

import keras
import pytest

from tfrec.training import get_preset
from tfrec.training import list_presets
from tfrec.training import make_optimizer


def test_cml_default_is_the_maml_paper_setting():
    preset = get_preset("cml")
    assert preset.name == "maml"
    assert preset.model_options["embedding_dim"] == 64
    assert preset.model_options["margin"] == 1.6
    assert preset.model_options["covariance_weight"] == 1.0  # the paper's CML baseline
    assert (preset.batch_size, preset.num_negatives, preset.steps_per_epoch) == (5000, 4, 400)
    assert preset.optimizer == "adagrad" and preset.learning_rate == 0.1


def test_dataset_picks_the_papers_preset():
    toys = get_preset("cml", dataset="maml-toysgames")
    assert toys.model_options["margin"] == 1.5 and toys.num_negatives == 8
    assert get_preset("cml", dataset="some-other-data").name == "maml"
    assert get_preset("cml", "maml-adam", dataset="maml-toysgames").name == "maml-adam"


def test_replace_changes_fields_and_model_options():
    preset = get_preset("cml").replace(epochs=2, margin=0.5, learning_rate=None)
    assert preset.epochs == 2 and preset.model_options["margin"] == 0.5
    assert preset.learning_rate == 0.1  # None leaves a value alone
    assert get_preset("cml").model_options["margin"] == 1.6  # the registered preset is intact


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ValueError, match="Did you mean 'maml-adam'"):
        get_preset("cml", "maml-adm")
    with pytest.raises(ValueError, match="model='cmll'"):
        get_preset("cmll")


def test_every_preset_builds_its_model():
    import numpy as np

    from tfrec.models.registry import needs_item_features
    from tfrec.training import build_model
    from tfrec.training.acf_experiment import build_acf_model
    from tfrec.training.acf_presets import ACF_MODELS
    from tfrec.training.history_experiment import HISTORY_MODELS
    from tfrec.training.history_experiment import build_history_model

    features = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    for preset in list_presets():
        if preset.model == "iris":
            model = build_history_model(
                preset, 4, item_features={"image": features, "text": features[:, :3]}
            )
        elif preset.model in HISTORY_MODELS:
            model = build_history_model(preset, 4)
        elif preset.model in ACF_MODELS:
            model = build_acf_model(preset, 5, 4, component_dim=6)
        elif preset.model == "wrmf":  # ALS: no Keras optimizer
            from tfrec.models.wrmf import WRMF

            assert WRMF(5, 4, **preset.model_options).embedding_dim == 32
            continue
        else:
            extra = {"item_features": features} if needs_item_features(preset.model) else {}
            model = build_model(preset, 5, 4, **extra)
        assert model.optimizer is not None, preset.name


def test_optimizer_constants_match_tf1():
    adam = make_optimizer("adam", 1e-3)
    assert adam.epsilon == 1e-8 and isinstance(adam, keras.optimizers.Adam)
    adagrad = make_optimizer("adagrad", 0.1)
    assert adagrad.initial_accumulator_value == 0.1 and adagrad.epsilon == 1e-12
    assert (
        make_optimizer("adagrad", 0.1, initial_accumulator_value=1e-8).initial_accumulator_value
        == 1e-8
    )
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):
        make_optimizer("rmsprop", 0.1)


def test_optimizer_serialises():
    adam = make_optimizer("adam", 0.01)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(adam))
    assert type(restored) is type(adam) and restored.epsilon == 1e-8
