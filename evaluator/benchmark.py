"""The six ELUE tasks (SPEC §1) as data: one registry, no if/elif chains elsewhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    """One ELUE task.

    ``labels`` is the tuple of valid label strings, or ``None`` for a regression task
    (STS-B, a real number in ``label_range``). ``folder`` is the directory name in the
    ELUE data layout; ``text_columns`` are the columns of ``test.tsv`` after ``index``.
    """

    slug: str
    name: str
    group: str
    folder: str
    text_columns: tuple[str, ...]
    metric: str
    test_size: int
    labels: tuple[str, ...] | None = None
    label_names: tuple[str, ...] = ()
    label_range: tuple[float, float] | None = None
    description: str = ""

    @property
    def is_regression(self) -> bool:
        return self.labels is None

    @property
    def sentence_columns(self) -> tuple[str, ...]:
        """The columns holding text fed to the model (MRPC's ID columns are not)."""
        return tuple(c for c in self.text_columns if not c.endswith(" ID"))

    @property
    def num_labels(self) -> int:
        return 1 if self.labels is None else len(self.labels)


SENTIMENT = "Sentiment Analysis"
NLI = "Natural Language Inference"
SIMILARITY = "Similarity and Paraphrase"

TASKS: dict[str, TaskSpec] = {
    spec.slug: spec
    for spec in (
        TaskSpec(
            "sst-2", "SST-2", SENTIMENT, "SST-2", ("sentence",), "accuracy", 2210,
            labels=("0", "1"), label_names=("negative", "positive"),
            description="Stanford Sentiment Treebank: binary sentiment of movie-review sentences.",
        ),
        TaskSpec(
            "imdb", "IMDb", SENTIMENT, "IMDb", ("sentence",), "accuracy", 25000,
            labels=("0", "1"), label_names=("negative", "positive"),
            description="IMDb movie reviews: binary sentiment of long, multi-sentence reviews.",
        ),
        TaskSpec(
            "snli", "SNLI", NLI, "SNLI", ("premise", "hypothesis"), "accuracy", 9824,
            labels=("0", "1", "2"), label_names=("entailment", "neutral", "contradiction"),
            description="Stanford Natural Language Inference: does the premise entail the "
            "hypothesis, contradict it, or neither?",
        ),
        TaskSpec(
            "scitail", "SciTail", NLI, "SciTail", ("premise", "hypothesis"), "accuracy", 2126,
            labels=("0", "1"), label_names=("neutral", "entails"),
            description="SciTail: entailment built from science exam questions and web text.",
        ),
        TaskSpec(
            "mrpc", "MRPC", SIMILARITY, "MRPC",
            ("#1 ID", "#2 ID", "#1 String", "#2 String"), "acc_and_f1", 1725,
            labels=("0", "1"), label_names=("not paraphrase", "paraphrase"),
            description="Microsoft Research Paraphrase Corpus: are two news sentences "
            "paraphrases of each other?",
        ),
        TaskSpec(
            "sts-b", "STS-B", SIMILARITY, "STS-B", ("sentence1", "sentence2"),
            "pearson_and_spearman", 1379, label_range=(0.0, 5.0),
            description="Semantic Textual Similarity Benchmark: how similar two sentences "
            "are, from 0 to 5.",
        ),
    )
}

TASK_ORDER: tuple[str, ...] = tuple(TASKS)
GROUPS: tuple[str, ...] = (SENTIMENT, NLI, SIMILARITY)


def get_task(slug: str) -> TaskSpec:
    """Return the task for ``slug`` or raise ``KeyError`` with the known slugs."""
    try:
        return TASKS[slug]
    except KeyError:
        known = ", ".join(TASK_ORDER)
        raise KeyError(f"unknown task {slug!r}; known tasks: {known}") from None

