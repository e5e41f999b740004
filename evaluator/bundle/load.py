"""A submission bundle: finding its files, validating every one, and describing it as data.

A bundle (docs/submission-format.md) holds, at its top level, prediction files and
exit-layer files named as ElasticBERT writes them (see ``evaluator.bundle.names``), an optional
``costs.json`` (``evaluator.bundle.declared_costs``) and an optional model definition, at
the top level or
in ``model/`` (``evaluator.bundle.model_files``). Loading reports every problem in every file at
once, as one ``SubmissionInvalid``; a valid bundle becomes a typed ``Bundle``.

Example::

    bundle = load_bundle(Path("upload.zip"), scratch)
    for point in bundle.points:          # task order, then static, then by threshold
        print(point.task.slug, point.point or "static", len(point.predictions))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.benchmark import TASK_ORDER, TaskSpec
from evaluator.bundle.archive import unpack
from evaluator.bundle.archive_limits import DEFAULT_LIMITS, ArchiveLimits
from evaluator.bundle.declared_costs import COSTS_FILE, MAX_JSON_BYTES, DeclaredCost, read_costs
from evaluator.bundle.model_files import (
    MANIFEST_FILE,
    MODEL_FOLDER,
    PICKLE_ADVICE,
    ModelDefinition,
    is_model_file,
    is_pickle_weights,
    read_model,
)
from evaluator.bundle.names import (
    DEV_EXIT_LAYERS,
    EXIT_LAYERS,
    NAMING_HELP,
    PREDICTIONS,
    TsvName,
    exit_layer_file,
    parse_tsv_name,
    point_value,
    prediction_file,
)
from evaluator.bundle.point_rules import (
    DEFAULT_RULES,
    PointRules,
    near_identical_problems,
    record_of,
)
from evaluator.bundle.point_rules import cap_problems as point_cap_problems
from evaluator.bundle.predictions import cap_problems, read_exit_layers, read_predictions
from evaluator.errors import Problem, SubmissionInvalid

MAX_TSV_BYTES = 16 * 1024 * 1024  # IMDb's 25,000 rows take ~0.3 MB; this is plenty
# What training scripts leave in an output folder next to the predictions. Never read
# (pickles can run code when loaded), only listed, so that such a folder can be zipped
# as it is.
BY_PRODUCT_FILES = frozenset({
    "training_args.bin", "pytorch_model.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth",
    "trainer_state.json", "all_results.json", "train_results.json", "eval_results.json",
    "eval_results.txt",
})
BY_PRODUCT_FOLDERS = ("checkpoint-", "runs")


@dataclass
class PointFiles:
    """One operating point of one task: its predictions and, if dynamic, exit layers.

    ``point`` is ``""`` for a static model, else the threshold as written in the file name
    (``"0.3"``). ``predictions`` and ``exit_layers`` are in test-set index order.
    """

    task: TaskSpec
    point: str
    predictions: list[str]
    predictions_file: str
    exit_layers: list[int] | None = None
    exit_layers_file: str | None = None
    declared_cost: DeclaredCost | None = None

    @property
    def is_dynamic(self) -> bool:
        return self.point != ""

    @property
    def threshold(self) -> float | None:
        return float(self.point) if self.point else None

    @property
    def stem(self) -> str:
        """The prediction file name without ``.tsv``; the key of ``costs.json``."""
        return self.predictions_file.removesuffix(".tsv")


@dataclass
class Bundle:
    """A validated submission bundle unpacked at ``root``.

    ``points`` are sorted by task order, then static before dynamic, then by threshold;
    ``ignored`` lists the training by-products and dev-set files that were skipped.
    """

    root: Path
    points: list[PointFiles]
    model: ModelDefinition | None = None
    ignored: list[str] = field(default_factory=list)

    @property
    def model_dir(self) -> Path | None:
        return self.model.directory if self.model else None

    @property
    def runs_model(self) -> bool:
        """Kind 4: no prediction files; the platform runs the model to produce them."""
        return not self.points and self.model is not None and self.model.runnable

    @property
    def _model_to_run(self) -> ModelDefinition | None:
        """``model`` when the platform runs it (``runs_model``), else ``None``."""
        return self.model if self.runs_model else None

    @property
    def tasks(self) -> list[TaskSpec]:
        """The tasks covered, in task order (a model to run: those of its ``elue.json``)."""
        model = self._model_to_run
        if model is not None and model.manifest:
            return sorted(model.manifest.tasks, key=lambda t: TASK_ORDER.index(t.slug))
        seen = {p.task.slug: p.task for p in self.points}
        return list(seen.values())

    @property
    def points_per_task(self) -> dict[str, int]:
        """Operating points per task slug: the prediction files, or for a model the platform
        runs, one per threshold of its ``elue.json`` (one without thresholds)."""
        model = self._model_to_run
        if model is not None:
            # Loading refuses a model to run without an elue.json (``_runnable``).
            assert model.manifest is not None
            per_task = len(model.manifest.thresholds) or 1
            return {task.slug: per_task for task in self.tasks}
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point.task.slug] = counts.get(point.task.slug, 0) + 1
        return counts

    @property
    def has_declared_costs(self) -> bool:
        return any(p.declared_cost is not None for p in self.points)


def load_bundle(path: Path, scratch: Path, limits: ArchiveLimits = DEFAULT_LIMITS,
                sizes: dict[str, int] | None = None,
                rules: PointRules = DEFAULT_RULES) -> Bundle:
    """Unpack the upload at ``path`` (zip or folder) into ``scratch`` and validate it.

    ``sizes`` maps task slugs to test-set sizes (e.g. ``len(test_set)``); missing tasks
    use ``TaskSpec.test_size``. ``rules`` cap the points per task and refuse near-identical
    points (``evaluator.bundle.point_rules``). Raises ``SubmissionInvalid`` with every
    problem found.
    """
    return read_bundle(unpack(path, scratch, limits), sizes, rules)


def read_bundle(root: Path, sizes: dict[str, int] | None = None,
                rules: PointRules = DEFAULT_RULES) -> Bundle:
    """Validate a bundle already unpacked at ``root`` by ``archive.unpack`` (see ``load_bundle``).

    ``root`` must come from ``unpack``: this walk trusts that it holds no links.
    """
    layout = survey(root)
    problems = list(layout.problems)
    model, more = _read_model(root, layout)
    problems += more
    points, more = _read_points(root, layout, model, sizes or {})
    problems += more
    if layout.has_costs and layout.predictions:
        problems += _attach_costs(root / COSTS_FILE, points, layout)
    problems += point_cap_problems(points, model.manifest if model else None, rules)
    problems += near_identical_problems([record_of(p) for p in points], rules)
    if not layout.predictions and not _runnable(model):
        problems.append(Problem("no_predictions", "the submission holds no prediction "
                                f"files; {NAMING_HELP}; or, for the platform to run the "
                                f"model, {MODEL_FOLDER}/ with model.safetensors and "
                                f"{MANIFEST_FILE} naming its tasks"))
    if problems:
        raise SubmissionInvalid(problems)
    return Bundle(root, points, model, layout.ignored)


def _runnable(model: ModelDefinition | None) -> bool:
    return model is not None and model.runnable and model.manifest is not None


# --- sorting the files into their roles ---------------------------------------------------

@dataclass
class Layout:
    """The files of an unpacked bundle by role, before any of them is read."""

    tsv: dict[str, TsvName] = field(default_factory=dict)
    model_files: dict[str, list[str]] = field(default_factory=dict)  # "" or "model" -> names
    has_costs: bool = False
    ignored: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def predictions(self) -> dict[str, TsvName]:
        return {n: t for n, t in self.tsv.items() if t.kind == PREDICTIONS}


def survey(root: Path) -> Layout:
    """Sort every file under ``root`` into its role; unknown names become problems."""
    layout = Layout()
    unknown = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts = path.relative_to(root).parts
        problem = _classify(parts, layout)
        if problem:
            unknown.append(problem)
    layout.problems = cap_problems(unknown, None)
    return layout


def _classify(parts: tuple[str, ...], layout: Layout) -> Problem | None:
    name = parts[-1]
    if _is_by_product(parts):
        layout.ignored.append("/".join(parts))
    elif len(parts) == 1 and name == COSTS_FILE:
        layout.has_costs = True
    elif len(parts) == 1 and is_model_file(name, in_model_folder=False):
        layout.model_files.setdefault("", []).append(name)
    elif len(parts) == 2 and parts[0] == MODEL_FOLDER and is_model_file(name, True):
        layout.model_files.setdefault(MODEL_FOLDER, []).append(name)
    elif len(parts) == 1 and name.endswith(".tsv"):
        return _classify_tsv(name, layout)
    else:
        return _unknown_file(parts)
    return None


def _classify_tsv(name: str, layout: Layout) -> Problem | None:
    parsed = parse_tsv_name(name)
    if isinstance(parsed, Problem):
        return parsed
    if parsed.kind == DEV_EXIT_LAYERS:
        layout.ignored.append(name)
    else:
        layout.tsv[name] = parsed
    return None


def _is_by_product(parts: tuple[str, ...]) -> bool:
    if len(parts) > 1 and parts[0].startswith(BY_PRODUCT_FOLDERS):
        return True
    at_model_level = len(parts) == 1 or (len(parts) == 2 and parts[0] == MODEL_FOLDER)
    return at_model_level and parts[-1] in BY_PRODUCT_FILES


def _unknown_file(parts: tuple[str, ...]) -> Problem:
    name = "/".join(parts)
    if is_pickle_weights(parts[-1]):
        return Problem("pickle_weights", PICKLE_ADVICE, name)
    if len(parts) > 1 and parts[-1].endswith(".tsv"):
        message = ("prediction files must be at the top level of the submission (or in "
                   "the one folder that wraps everything)")
    else:
        message = ("not part of an ELUE submission, which holds prediction and "
                   f"exit-layer files, {COSTS_FILE} and a model definition (at the top "
                   f"level or in {MODEL_FOLDER}/)")
    return Problem("unknown_file", message, name)


# --- model definition ---------------------------------------------------------------------

def _read_model(root: Path, layout: Layout) -> tuple[ModelDefinition | None, list[Problem]]:
    places = layout.model_files
    if not places:
        return None, []
    if len(places) > 1:
        return None, [Problem("model_in_two_places", "model files are both at the top level "
                              f"and in {MODEL_FOLDER}/; keep one model definition, "
                              f"preferably in {MODEL_FOLDER}/", "config.json")]
    label, files = next(iter(places.items()))
    return read_model(root / label if label else root, files, label)


# --- prediction and exit-layer files ------------------------------------------------------

Group = dict[str, str]  # kind -> file name, for one (task, point)


def _groups(layout: Layout) -> tuple[dict[tuple[str, str], Group], list[Problem]]:
    """File names by (task, point), and a problem for points that differ only in spelling."""
    groups: dict[tuple[str, str], Group] = {}
    spelled: dict[tuple[str, str, float], str] = {}
    problems = []
    for name, parsed in layout.tsv.items():
        groups.setdefault((parsed.task.slug, parsed.point), {})[parsed.kind] = name
        key = (parsed.kind, parsed.task.slug, point_value(parsed.point))
        if key in spelled:
            problems.append(Problem("duplicate_point", f"names the same operating point as "
                                    f"{spelled[key]}", name))
        spelled.setdefault(key, name)
    return groups, problems


def _sort_key(item: tuple[tuple[str, str], Group]) -> tuple[int, float]:
    (slug, point), _ = item
    return TASK_ORDER.index(slug), point_value(point)


def _read_points(root: Path, layout: Layout, model: ModelDefinition | None,
                 sizes: dict[str, int]) -> tuple[list[PointFiles], list[Problem]]:
    groups, problems = _groups(layout)
    points = []
    for (_, point), group in sorted(groups.items(), key=_sort_key):
        task = layout.tsv[next(iter(group.values()))].task
        size = sizes.get(task.slug, task.test_size)
        found, more = _read_point(root, task, point, group, size, model)
        problems += more
        if found is not None:
            points.append(found)
    return points, problems


def _read_point(root: Path, task: TaskSpec, point: str, group: Group, size: int,
                model: ModelDefinition | None) -> tuple[PointFiles | None, list[Problem]]:
    problems = _check_pairing(task, point, group, model)
    predictions = layers = None
    if PREDICTIONS in group:
        predictions, more = _read_file(root, group[PREDICTIONS], lambda data, name:
                                       read_predictions(data, name, task, size))
        problems += more
    if EXIT_LAYERS in group:
        num_layers = model.num_layers if model else None
        layers, more = _read_file(root, group[EXIT_LAYERS], lambda data, name:
                                  read_exit_layers(data, name, task, size, num_layers))
        problems += more
    if problems or predictions is None:
        return None, problems
    return PointFiles(task, point, predictions, group[PREDICTIONS], layers,
                      group.get(EXIT_LAYERS)), []


def _check_pairing(task: TaskSpec, point: str, group: Group,
                   model: ModelDefinition | None) -> list[Problem]:
    if EXIT_LAYERS in group and PREDICTIONS not in group:
        return [Problem("exit_layers_without_predictions", "there is no prediction file "
                        f"{prediction_file(task, point)} for this operating point",
                        group[EXIT_LAYERS])]
    if model is not None and point and EXIT_LAYERS not in group:
        # With a model definition the platform counts FLOPs itself, which for an early-exit
        # model depends on where each example left.
        return [Problem("missing_exit_layers", f"no exit-layer file "
                        f"{exit_layer_file(task, point)}; a dynamic point needs one to "
                        "count its FLOPs from the model definition", group[PREDICTIONS])]
    return []


Reader = Callable[[bytes, str], "tuple[list | None, list[Problem]]"]


def _read_file(root: Path, name: str, reader: Reader) -> tuple[list | None, list[Problem]]:
    path = root / name
    size = path.stat().st_size
    if size > MAX_TSV_BYTES:
        return None, [Problem("file_too_large", f"{size:,} bytes; at most {MAX_TSV_BYTES:,} "
                              "allowed for a prediction or exit-layer file", name)]
    return reader(path.read_bytes(), name)


# --- declared costs -----------------------------------------------------------------------

def _attach_costs(path: Path, points: list[PointFiles], layout: Layout) -> list[Problem]:
    stems = [parsed.stem for parsed in layout.predictions.values()]
    with path.open("rb") as handle:
        data = handle.read(MAX_JSON_BYTES + 1)  # enough for read_costs to see it is too big
    costs, problems = read_costs(data, stems)
    for point in points:
        point.declared_cost = (costs or {}).get(point.stem)
    return problems
