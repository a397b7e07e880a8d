"""Analysis: MAML's attention vectors as heatmaps (Fig. 3) and t-SNE layouts (Fig. 4)."""

from tfrec.analysis.attention_maps import AttentionMap
from tfrec.analysis.attention_maps import attention_tsne
from tfrec.analysis.attention_maps import attention_weight_bounds
from tfrec.analysis.attention_maps import item_attention_map
from tfrec.analysis.attention_maps import layout_agreement
from tfrec.analysis.attention_maps import neighbour_overlap
from tfrec.analysis.attention_maps import pair_attention
from tfrec.analysis.attention_maps import user_attention_map
from tfrec.analysis.plots import plot_attention_map
from tfrec.analysis.plots import plot_tsne_pair
