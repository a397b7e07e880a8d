"""The datasets of the registry: pinned public files, checksums, terms and default splits.

Every URL points at a file in a public GitHub repository at a fixed commit (so it cannot
change under a sha256), except ML-1M, which comes from GroupLens. The sha256 sums were
computed from byte-for-byte copies of the files, or taken from SOURCES.md of the tfrec data
notes (the MenClothing, ToysGames, S3-Rec Yelp/Toys and HIN Amazon files) and from
TensorFlow Datasets' `url_checksums/movielens.txt` (the ML-1M zip). No trustworthy sha256
is known for the NCF files: those entries are marked unverified and every first use prints
the computed sum with a "NOT VERIFIED" warning.
"""

from __future__ import annotations

from pathlib import Path

from tfrec.data.cache import RemoteFile
from tfrec.data.dataset_spec import DatasetSpec
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.loaders import load_hin
from tfrec.data.loaders import load_lrd
from tfrec.data.loaders import load_lrd_item_side
from tfrec.data.loaders import load_lrd_log
from tfrec.data.loaders import load_maml_csv
from tfrec.data.loaders import load_movielens_items
from tfrec.data.loaders import load_movielens_ratings
from tfrec.data.loaders import load_ncf
from tfrec.data.loaders import load_s3rec
from tfrec.data.loaders import load_user_item_lines
from tfrec.data.loaders import load_user_item_lines_log
from tfrec.data.splits import leave_one_out
from tfrec.data.splits import ratio_split
from tfrec.data.splits import sample_test_negatives

MAML = ("liufancs/MAML", "a547be23b7379e916abf7e751eff074462fb9ee4")
DMRL = ("liufancs/DMRL", "0da50e5b62c972a14b7ed2d6ad381a026523ccac")
LRD = ("ysh-1998/LRD", "ccbd8299c71bb0d26488d67b622706caf9139e21")
A2GCN_CLOTH = ("liufancs/a2_gcn", "ef9eef5a33c81e3f831be6f241f170c0079ecf3a")
A2GCN_TOYS = ("liufancs/a2_gcn", "162bbc14ad84dbbcfacaa19429ce26e2e3916422")
S3REC = ("aHuiWang/CIKM2020-S3Rec", "49a890dcb516c9ed3126564495234ea74d5cd566")
HIN = (
    "librahu/HIN-Datasets-for-Recommendation-and-Network-Embedding",
    "cc05c484b628b08237f0a876fcebf99d736ccbea",
)
MELU = ("hoyeoplee/MeLU", "f70c8ff91471193cd598bc241c6b0f22665f6375")
LIBRECOMMENDER = ("massquantity/LibRecommender", "7463d9d084bfc6d4cf06dbfc834a255801304d2f")
NCF = ("hexiangnan/neural_collaborative_filtering", "4aab159e81c44b062c091bdaed0ab54ac632371f")

NUM_NEGATIVES = 99
SEED = 0

AMAZON_TERMS = (
    "Amazon review data (McAuley et al., UCSD): free for research use, no formal license."
)
MOVIELENS_TERMS = (
    "MovieLens (GroupLens): research use only; may not be redistributed without separate "
    "permission (see the ML-1M README)."
)
OMDB_TERMS = "OMDb plots and posters: OMDb API terms (CC BY-NC 4.0)."
YELP_TERMS = "Yelp Dataset Terms of Use (non-commercial, academic use)."
MCAULEY = (
    "McAuley, Targett, Shi, van den Hengel. Image-based Recommendations on Styles and "
    "Substitutes. SIGIR 2015. He, McAuley. Ups and Downs. WWW 2016."
)
MAML_CITATION = (
    "Liu, Cheng, Chen, Sun, Kankanhalli. User Diverse Preference Modeling by Multimodal "
    "Attentive Metric Learning. ACM MM 2019."
)
S3REC_CITATION = (
    "Zhou, Wang, Zhang, Zhang, Wang, Wang, Wen. S3-Rec: Self-Supervised Learning for "
    "Sequential Recommendation with Mutual Information Maximization. CIKM 2020."
)
HIN_CITATION = (
    "Shi, Hu, Zhao, Yu. Heterogeneous Information Network Embedding for Recommendation. "
    "IEEE TKDE 2018 (librahu/HIN-Datasets-for-Recommendation-and-Network-Embedding)."
)
MOVIELENS_CITATION = "Harper, Konstan. The MovieLens Datasets: History and Context. ACM TiiS 2015."
MELU_CITATION = (
    "Lee, Im, Jang, Cho, Chung. MeLU: Meta-Learned User Preference Estimator for Cold-Start "
    "Recommendation. KDD 2019 (movies_extrainfos.dat)."
)
NCF_CITATION = "He, Liao, Zhang, Nie, Hu, Chua. Neural Collaborative Filtering. WWW 2017."

PRESPLIT = "pre-split by the authors (the released train/test files are used as they are)"
LOO_S3REC = (
    "leave-one-out by sequence position as in S3-Rec: last item -> test, second last -> "
    f"validation, the rest -> train; {NUM_NEGATIVES} test negatives sampled uniformly "
    f"(seed {SEED})"
)
RATIO_HIN = (
    "per-user random 60/20/20 train/validation/test (MML protocol): ratings < 3 are not "
    "positive interactions and are dropped; floor counts (train floor(0.6n), validation "
    "floor(0.2n), test the rest); users with < 5 events train-only; seed 0"
)
LOO_LATEST = (
    "leave-one-out: each user's latest rating (by timestamp, ties -> later line) -> test, "
    f"all ratings are implicit positives; {NUM_NEGATIVES} test negatives sampled uniformly "
    f"from the items the user never rated (seed {SEED})"
)


def _github(
    repo: tuple[str, str],
    path: str,
    sha256: str | None,
    size: int | None = None,
    filename: str | None = None,
) -> RemoteFile:
    owner_name, commit = repo
    return RemoteFile(
        filename=filename or path.rsplit("/", 1)[-1],
        url=f"https://raw.githubusercontent.com/{owner_name}/{commit}/{path}",
        sha256=sha256,
        size=size,
    )


def _source(*repos: tuple[str, str]) -> str:
    return "; ".join(f"github.com/{name} @ {commit}" for name, commit in repos)


# --------------------------------------------------------------------------- builders
def _maml(directory: Path, name: str) -> Interactions:
    return load_maml_csv(directory / "train.csv", directory / "test.csv", name=name)


def _maml_office(directory: Path) -> Interactions:
    data = _maml(directory, "maml-office")
    data.item_side = data.item_side.merged(load_lrd_item_side(directory / "lrd"))
    return data


def _lines(directory: Path, name: str) -> Interactions:
    return load_user_item_lines(
        directory / "train.txt", directory / "test.txt", directory / "tag.txt", name=name
    )


def _s3rec(prefix: str, name: str):
    def build(directory: Path) -> Interactions:
        log = load_s3rec(
            directory / f"{prefix}.txt", directory / f"{prefix}_item2attributes.json", name=name
        )
        data = leave_one_out(log, validation=True)
        return sample_test_negatives(data, NUM_NEGATIVES, seed=SEED)

    return build


def _hin(ratings: str, categories: str, name: str):
    def build(directory: Path) -> Interactions:
        log = load_hin(directory / ratings, item_category_path=directory / categories, name=name)
        return ratio_split(
            log, test_fraction=0.2, validation_fraction=0.2, min_rating=3.0, seed=SEED
        )

    return build


def _lines_log(directory: Path, name: str) -> InteractionLog:
    return load_user_item_lines_log(
        directory / "train.txt", directory / "test.txt", tag_path=directory / "tag.txt", name=name
    )


def _movielens_log(ratings: Path, movies: Path, extras: Path, name: str) -> InteractionLog:
    log = load_movielens_ratings(ratings, name=name)
    log.item_side = load_movielens_items(movies, extras)
    return log


def _movielens(ratings: Path, movies: Path, extras: Path, name: str) -> Interactions:
    data = leave_one_out(_movielens_log(ratings, movies, extras, name))
    return sample_test_negatives(data, NUM_NEGATIVES, seed=SEED)


def _ml_1m_files(directory: Path) -> tuple[Path, Path, Path, str]:
    root = directory / "ml-1m-extracted" / "ml-1m"
    return root / "ratings.dat", root / "movies.dat", directory / "movies_extrainfos.dat", "ml-1m"


def _ml_1m_sample_files(directory: Path) -> tuple[Path, Path, Path, str]:
    return (
        directory / "sample_movielens_rating.dat",
        directory / "movies.dat",
        directory / "movies_extrainfos.dat",
        "ml-1m-sample",
    )


def _ncf(prefix: str, name: str):
    def build(directory: Path) -> Interactions:
        return load_ncf(
            directory / f"{prefix}.train.rating",
            directory / f"{prefix}.test.rating",
            directory / f"{prefix}.test.negative",
            name=name,
        )

    return build


def _lrd_office(directory: Path) -> Interactions:
    return load_lrd(directory, name="lrd-office")


def _s3rec_entry(
    short: str,
    prefix: str,
    title: str,
    sequences: tuple[str, int | None],
    attributes: tuple[str, int | None],
    *,
    terms: str = AMAZON_TERMS,
    sizes: tuple[int | None, int | None] = (None, None),
) -> DatasetSpec:
    """An S3-Rec `data/<prefix>.txt` + `<prefix>_item2attributes.json` entry."""
    return DatasetSpec(
        name=f"s3rec-{short}",
        description=f"{title} time-ordered user sequences with item attributes (brand, "
        f"category path) from S3-Rec (data/{prefix}.txt). " + _source(S3REC),
        files=(
            _github(S3REC, f"data/{prefix}.txt", *sequences),
            _github(S3REC, f"data/{prefix}_item2attributes.json", *attributes),
        ),
        build=_s3rec(prefix, f"s3rec-{short}"),
        default_split=LOO_S3REC,
        license=terms,
        citation=S3REC_CITATION,
        num_users=sizes[0],
        num_items=sizes[1],
    )


# --------------------------------------------------------------------------- entries
MELU_EXTRAS = _github(
    MELU,
    "movielens/ml-1m/movies_extrainfos.dat",
    "18432b1713b66a5262c11f6d929801a6e6f414d861cd2adf191dfba61e45c74d",
    3309481,
)

ENTRIES: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="maml-office",
        description=(
            "Amazon Office Products as released with MAML (liufancs/MAML Data/Office), with "
            "each item's text (title + category + brand) and one of 40 category labels "
            "from LRD's Office folder joined by ASIN. " + _source(MAML, LRD)
        ),
        files=(
            _github(
                MAML,
                "Data/Office/train.csv",
                "03b2bb83ea2ba767d59477aff3077e76d347a5c1d6bf006ae09597a219d94ac9",
                1321644,
            ),
            _github(
                MAML,
                "Data/Office/test.csv",
                "8cd4bd96df25930f96bd94c5bde39d43c567a68a6b4dc63f59f19711298ffa6f",
                568995,
            ),
            _github(
                LRD,
                "data/Office/Office.text",
                "34932e3a6cd6b6d9e999608b309cfa5c6811084dc8be77a18ae89de50da7f862",
                262133,
                filename="lrd/Office.text",
            ),
            _github(
                LRD,
                "data/Office/Office.item2index",
                "4a1d4bb829f89ce23f7f8e6637238a2f9049ca28fed4e73840b36fdba479a046",
                37613,
                filename="lrd/Office.item2index",
            ),
            _github(
                LRD,
                "data/Office/item_meta.csv",
                "dbefb00348f251c56d77687c1b3c369fbb35c3a48cb9fd6de25eca54f19d0c97",
                340752,
                filename="lrd/item_meta.csv",
            ),
        ),
        build=_maml_office,
        default_split=PRESPLIT,
        license=f"{AMAZON_TERMS} LRD repository: MIT (Copyright 2020 Chenyang Wang).",
        citation=f"{MAML_CITATION} {MCAULEY}",
        num_users=4874,
        num_items=2406,
    ),
    DatasetSpec(
        name="maml-menclothing",
        description="Amazon Men Clothing as released with MAML (Data/MenClothing). "
        + _source(MAML),
        files=(
            _github(
                MAML,
                "Data/MenClothing/train.csv",
                "46850587408cf6388482918d6a207571af015ee4ce428393ee1568bb937082a3",
            ),
            _github(
                MAML,
                "Data/MenClothing/test.csv",
                "baa0a8249d39f78585a59432c6058f9a3553ba648cd72d09d80fc1aa6097d635",
            ),
        ),
        build=lambda directory: _maml(directory, "maml-menclothing"),
        default_split=PRESPLIT,
        license=AMAZON_TERMS,
        citation=f"{MAML_CITATION} {MCAULEY}",
    ),
    DatasetSpec(
        name="maml-toysgames",
        description="Amazon Toys & Games split of the MAML authors, released in their DMRL "
        "repository (Data/ToysGames; totals equal MAML's Table 1). " + _source(DMRL),
        files=(
            _github(
                DMRL,
                "Data/ToysGames/train.csv",
                "2ebb13f8aaa6c409139a1729fe2e2889b14999f868fe0a00f91326ac16207b75",
            ),
            _github(
                DMRL,
                "Data/ToysGames/test.csv",
                "213bf385f5536d2db258aff3c0c09083ce6712dc3db5da6349dacf59df0f1301",
            ),
        ),
        build=lambda directory: _maml(directory, "maml-toysgames"),
        default_split=PRESPLIT,
        license=AMAZON_TERMS,
        citation=f"{MAML_CITATION} {MCAULEY}",
    ),
    DatasetSpec(
        name="amazon-cloth",
        description="Amazon-2014 Clothing, Shoes & Jewelry 5-core from a2_gcn (Data/Cloth, "
        "taken from the repository's history), with 760 item tags. " + _source(A2GCN_CLOTH),
        files=(
            _github(
                A2GCN_CLOTH,
                "Data/Cloth/train.txt",
                "9e186ddf638c5fc1f7b48d88235f7e4309505b1c91422714d40bbba4fdea705b",
                1468426,
            ),
            _github(
                A2GCN_CLOTH,
                "Data/Cloth/test.txt",
                "87e7fb9db45960a43e7b56a40cbde4551e317206e60a85cb95a0582e55ecbb12",
                580702,
            ),
            _github(
                A2GCN_CLOTH,
                "Data/Cloth/tag.txt",
                "53c998d7b59c8a777bcb0a3364add9b2234d9e2488eccc62fac0fc37e21e0816",
                1268314,
            ),
        ),
        build=lambda directory: _lines(directory, "amazon-cloth"),
        build_log=lambda directory: _lines_log(directory, "amazon-cloth"),
        default_split=PRESPLIT,
        license=AMAZON_TERMS,
        citation=(
            "Liu, Cheng, Sun, Wang, Nie, Kankanhalli. Interest-aware Message-Passing GCN for "
            f"Recommendation (a2_gcn). WWW 2021. {MCAULEY}"
        ),
        num_users=39387,
        num_items=23033,
    ),
    DatasetSpec(
        name="amazon-toys",
        description="Amazon-2014 Toys & Games 5-core from a2_gcn (Data/Toys_and_Games), "
        "with 406 item tags. " + _source(A2GCN_TOYS),
        files=(
            _github(
                A2GCN_TOYS,
                "Data/Toys_and_Games/train.txt",
                "390de8ad080e63372c7010e23c55fc4d26916cb672e2ea5ccb7cb826b7a1be64",
                827566,
            ),
            _github(
                A2GCN_TOYS,
                "Data/Toys_and_Games/test.txt",
                "c53b98751065932a3a4fb462c1b1ae77bf5202eb803014accd5114c0aeba696e",
                270466,
            ),
            _github(
                A2GCN_TOYS,
                "Data/Toys_and_Games/tag.txt",
                "84ccd4511bc46e2e9bd6cf841c9f7eaf17c6f447dee3becafa93270e59d32c29",
                220732,
            ),
        ),
        build=lambda directory: _lines(directory, "amazon-toys"),
        build_log=lambda directory: _lines_log(directory, "amazon-toys"),
        default_split=PRESPLIT,
        license=AMAZON_TERMS,
        citation=(
            "Liu, Cheng, Sun, Wang, Nie, Kankanhalli. Interest-aware Message-Passing GCN for "
            f"Recommendation (a2_gcn). WWW 2021. {MCAULEY}"
        ),
        num_users=19412,
        num_items=11924,
    ),
    DatasetSpec(
        name="lrd-office",
        description="Amazon-2014 Office Products 5-core in LRD's ReChorus layout: "
        "leave-one-out by time with 99 negatives per dev/test user, item text and "
        "categories. " + _source(LRD),
        files=tuple(
            _github(LRD, f"data/Office/{name}", sha, size)
            for name, sha, size in (
                (
                    "train.csv",
                    "015236e98589dac0801be8fe16519d95735b2efbd64bec890685297a1bc69fec",
                    878556,
                ),
                (
                    "dev.csv",
                    "f94b18e4be2f7322905b7fd152bce78e4d554cb7561426fab6855e7df07790a0",
                    2795789,
                ),
                (
                    "test.csv",
                    "5b5fb42bf500ca344d565461706cdb548ebf21b371f3f871d517d8c967e63ed6",
                    2797230,
                ),
                (
                    "item_meta.csv",
                    "dbefb00348f251c56d77687c1b3c369fbb35c3a48cb9fd6de25eca54f19d0c97",
                    340752,
                ),
                (
                    "Office.text",
                    "34932e3a6cd6b6d9e999608b309cfa5c6811084dc8be77a18ae89de50da7f862",
                    262133,
                ),
                (
                    "Office.item2index",
                    "4a1d4bb829f89ce23f7f8e6637238a2f9049ca28fed4e73840b36fdba479a046",
                    37613,
                ),
            )
        ),
        build=_lrd_office,
        build_log=lambda directory: load_lrd_log(directory, name="lrd-office"),
        default_split="pre-split by LRD: leave-one-out by time (dev = second latest, test = "
        "latest) with the released 99 test negatives",
        license=f"{AMAZON_TERMS} LRD repository: MIT (Copyright 2020 Chenyang Wang).",
        citation=MCAULEY,
        num_users=4905,
        num_items=2420,
    ),
    _s3rec_entry(
        "sports",
        "Sports_and_Outdoors",
        "Amazon-2014 Sports & Outdoors 5-core",
        ("2a095e0648872beb9982408958290f5d655db5be2911c3756b5446de9f0b8de2", 1707483),
        ("7fb10733ac4f1811384a52144cdefa7fcc7536fa80a7232c5da9bd789155c34b", 653780),
        sizes=(35598, 18357),
    ),
    _s3rec_entry(
        "beauty",
        "Beauty",
        "Amazon-2014 Beauty 5-core",
        ("226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8", 1090094),
        ("129e40f67486f6877eff0f5318cfa8530ee8ac23d8b0d1de04e1bb7a2ba0b2d4", 305674),
        sizes=(22363, 12101),
    ),
    _s3rec_entry(
        "toys",
        "Toys_and_Games",
        "Amazon-2014 Toys & Games 5-core",
        ("176c680c688d497598c4a89a03b402c0fe78d795e5db335c2e78dd5f2d778a3f", None),
        ("d371acd25101eedac04afc727626464b7acec770c4eda708705d51eb76eb1ad0", None),
    ),
    _s3rec_entry(
        "yelp",
        "Yelp",
        "Yelp",
        ("724b219106b81dd2349027da997334ddb6da9fe2f152ad6e0d97a93170f7caed", None),
        ("f25acd5e1e680e0b22fd4e3f4fb6be4b2a7461e9222610616e3e1ee6702dd58d", None),
        terms=YELP_TERMS,
    ),
    DatasetSpec(
        name="hin-yelp",
        description="Yelp user-business ratings with 511 business categories, released "
        "with HERec (Yelp/user_business.dat, business_category.dat). " + _source(HIN),
        files=(
            _github(
                HIN,
                "Yelp/user_business.dat",
                "d57853e95c3f49f0060f31ee9365ab3fffe1010999c76863c3cd9628b91e994d",
                2490385,
            ),
            _github(
                HIN,
                "Yelp/business_category.dat",
                "d3c1499e406c0a842b3c08c478ffe7bf26a8758b630e0b056d0f4bcf18c01a5b",
                439981,
            ),
        ),
        build=_hin("user_business.dat", "business_category.dat", "hin-yelp"),
        default_split=RATIO_HIN,
        license=YELP_TERMS,
        citation=HIN_CITATION,
        num_users=15233,  # Of 16,239: users with a rating >= 3.
        num_items=13571,
    ),
    DatasetSpec(
        name="hin-ml100k",
        description="MovieLens-100K ratings with 18 movie genres, from the HERec datasets "
        "(Movielens/user_movie.dat, movie_genre.dat). " + _source(HIN),
        files=(
            _github(
                HIN,
                "Movielens/user_movie.dat",
                "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
                1979173,
            ),
            _github(
                HIN,
                "Movielens/movie_genre.dat",
                "df9197939345af429b20e1487e600518b4c4238bde5ce5296c3c013020faa450",
                19030,
            ),
        ),
        build=_hin("user_movie.dat", "movie_genre.dat", "hin-ml100k"),
        default_split=RATIO_HIN,
        license=MOVIELENS_TERMS,
        citation=f"{HIN_CITATION} {MOVIELENS_CITATION}",
        num_users=943,
        num_items=1574,  # Of 1,682: movies with a rating >= 3.
    ),
    DatasetSpec(
        name="hin-amazon",
        description="Amazon Electronics user-item ratings with item categories, from the "
        "HERec datasets (Amazon/user_item.dat, item_category.dat). " + _source(HIN),
        files=(
            _github(
                HIN,
                "Amazon/user_item.dat",
                "d14fcc5b04f0d701d326149bc4f18d471156f189ff1f4d0fefa14511c4cb42c8",
            ),
            _github(
                HIN,
                "Amazon/item_category.dat",
                "17b9158f777fbb0b8b035a9b675c2f7d2e9f7ad81f34919d3e6db4289c9dc6bf",
            ),
        ),
        build=_hin("user_item.dat", "item_category.dat", "hin-amazon"),
        default_split=RATIO_HIN,
        license=AMAZON_TERMS,
        citation=f"{HIN_CITATION} {MCAULEY}",
    ),
    DatasetSpec(
        name="ml-1m",
        description="MovieLens 1M (GroupLens ml-1m.zip: 1,000,209 ratings) with OMDb plots "
        "and posters from MeLU's movies_extrainfos.dat as item text. The zip's sha256 is "
        "the one pinned by TensorFlow Datasets (url_checksums/movielens.txt). " + _source(MELU),
        files=(
            RemoteFile(
                filename="ml-1m.zip",
                url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
                sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
                size=5917549,
                extract=True,
            ),
            MELU_EXTRAS,
        ),
        build=lambda directory: _movielens(*_ml_1m_files(directory)),
        build_log=lambda directory: _movielens_log(*_ml_1m_files(directory)),
        default_split=LOO_LATEST,
        license=f"{MOVIELENS_TERMS} {OMDB_TERMS}",
        citation=f"{MOVIELENS_CITATION} {MELU_CITATION}",
        num_users=6040,
        num_items=3706,
    ),
    DatasetSpec(
        name="ml-1m-sample",
        description="LibRecommender's 10% random sample of ML-1M (100,000 ratings) with "
        "ML-1M genres and OMDb plots from MeLU (3,311 of 3,312 items have a plot). "
        + _source(LIBRECOMMENDER, MELU),
        files=(
            _github(
                LIBRECOMMENDER,
                "examples/sample_data/sample_movielens_rating.dat",
                "734d8519445bcf4639f9709e56a700bbef7514bf12902620ca068aa63dcd93e8",
                2458958,
            ),
            _github(
                MELU,
                "movielens/ml-1m/movies.dat",
                "ad22fd112a753c753925eea3a7a46b7ed82b1273fc4f47f798ee52ec0c28576b",
                171324,
            ),
            MELU_EXTRAS,
        ),
        build=lambda directory: _movielens(*_ml_1m_sample_files(directory)),
        build_log=lambda directory: _movielens_log(*_ml_1m_sample_files(directory)),
        default_split=LOO_LATEST,
        license=f"LibRecommender repository: MIT (Copyright 2023 massquantity). "
        f"{MOVIELENS_TERMS} {OMDB_TERMS}",
        citation=f"{MOVIELENS_CITATION} {MELU_CITATION}",
        num_users=5958,
        num_items=3312,
    ),
    *(
        DatasetSpec(
            name=f"ncf-{prefix}",
            description=f"{title} as released with NCF (Data/{prefix}.*): leave-one-out "
            "(latest) with 99 fixed test negatives. No sha256 is pinned for these files: "
            "they are NOT VERIFIED; the first use prints their computed sha256. " + _source(NCF),
            files=tuple(
                _github(NCF, f"Data/{prefix}.{suffix}", None)
                for suffix in ("train.rating", "test.rating", "test.negative")
            ),
            build=_ncf(prefix, f"ncf-{prefix}"),
            default_split="pre-split by NCF: latest interaction -> test, 99 released test "
            "negatives",
            license=f"NCF repository: Apache-2.0. {terms}",
            citation=NCF_CITATION,
            num_users=users,
            num_items=items,
        )
        for prefix, title, terms, users, items in (
            ("ml-1m", "MovieLens 1M", MOVIELENS_TERMS, 6040, 3706),
            (
                "pinterest-20",
                "Pinterest (users with >= 20 pins)",
                "Pinterest data of Geng et al., ICCV 2015: research use.",
                55187,
                9916,
            ),
        )
    ),
)
