"""The site's forms: submission metadata, published points, sign-up, API tokens, the budget
explorer's inputs, and turning uploaded files into a folder the service layer can read."""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.files.uploadedfile import UploadedFile

from evaluator.benchmark import TASKS
from evaluator.errors import Problem
from leaderboard.accounts import address_taken
from leaderboard.budget import LIMITS, Budget, BudgetInvalid, parse_budget
from leaderboard.models import Entry
from leaderboard.published import PUBLISHED_BASES, PublishedPoint
from leaderboard.tokens import DEFAULT_EXPIRY, EXPIRY_CHOICES
from leaderboard.uploads import MIB, base_name, name_problems, write_upload


class UploadRefused(Exception):
    """Uploaded files that cannot even be handed to the checker; ``problems`` say why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def save_uploads(files: list[UploadedFile], folder: Path) -> Path:
    """Write the uploaded files into ``folder`` (which must exist) and return what to hand to
    ``submit_bundle``: the zip when one zip was uploaded, else the folder of files.

    Only each file's base name is kept. Raises ``UploadRefused`` for no files, odd or repeated
    names, a zip among other files, or more than ``ELUE_UPLOAD_MAX_MB`` in all.
    """
    problems = name_problems(files)
    if not files:
        problems.append(Problem("no_files", "choose a zip file or the prediction files",
                                field="files"))
    names = [base_name(f) for f in files]
    zips = [n for n in names if n.lower().endswith(".zip")]
    if zips and len(files) > 1:
        problems.append(Problem("zip_among_files", f"upload either one zip file or the files "
                                f"themselves, not {zips[0]} with other files", file=zips[0]))
    limit = settings.ELUE_UPLOAD_MAX_MB
    if sum(f.size or 0 for f in files) > limit * MIB:
        problems.append(Problem("upload_too_large", f"the files add up to more than {limit} "
                                "MiB, the upload limit", field="files"))
    if problems:
        raise UploadRefused(problems)
    for upload, name in zip(files, names, strict=True):
        write_upload(upload, folder / name)
    return folder / names[0] if zips else folder


class EntryMetadataForm(forms.Form):
    """What every entry says about itself, whatever its kind."""

    name = forms.CharField(max_length=120, help_text="The model's name on the leaderboard.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    affiliation = forms.CharField(max_length=200, required=False)
    paper_url = forms.URLField(required=False, assume_scheme="https", label="Paper URL")
    code_url = forms.URLField(required=False, assume_scheme="https", label="Code URL")
    visibility = forms.ChoiceField(choices=Entry.Visibility.choices,
                                   initial=Entry.Visibility.PUBLIC,
                                   help_text="Private entries are seen by you alone.")


class PointForm(forms.Form):
    """One row of a published entry; an empty row is skipped."""

    task = forms.ChoiceField(choices=[("", "—")] + [(s, t.name) for s, t in TASKS.items()],
                             required=False)
    name = forms.CharField(max_length=40, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "6L or 0.3"}))
    mflops = forms.FloatField(required=False, label="MFLOPs")
    performance = forms.FloatField(required=False, help_text="×100")
    mparams = forms.FloatField(required=False, label="MParams")
    mflops_basis = forms.ChoiceField(choices=[(b.value, b.label) for b in PUBLISHED_BASES],
                                     initial=PUBLISHED_BASES[-1].value, label="FLOPs basis")
    source = forms.CharField(max_length=300, required=False)

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not any(data.get(k) not in (None, "") for k in
                       ("task", "name", "mflops", "performance", "mparams", "source"))

    def point(self) -> PublishedPoint:
        data = self.cleaned_data
        return PublishedPoint(
            task=data["task"], name=data["name"].strip(),
            mflops=data["mflops"] if data["mflops"] is not None else float("nan"),
            performance=(data["performance"] if data["performance"] is not None
                         else float("nan")),
            mparams=data["mparams"], mflops_basis=data["mflops_basis"],
            source=data["source"].strip())


PointFormSet = forms.formset_factory(PointForm, extra=6, max_num=200, absolute_max=200)


def attach_point_problems(formset, rows: list[int], problems: list[Problem]) -> list[str]:
    """Put each problem next to the input it concerns: ``points[i].field`` is the i-th
    non-blank row, which is form ``rows[i]``. Returns the messages that fit no input."""
    unplaced = []
    for problem in problems:
        match = re.fullmatch(r"points\[(\d+)\]\.(\w+)", problem.field or "")
        if match and int(match[1]) < len(rows) and match[2] in PointForm.base_fields:
            formset.forms[rows[int(match[1])]].add_error(match[2], problem.message)
        else:
            unplaced.append(problem.message)
    return unplaced


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="ELUE sends a link to confirm it before your first "
                             "submission, and for password resets; never shown.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if address_taken(email):
            raise forms.ValidationError("An ELUE account already uses this address (one "
                                        "address, one account): log in, or reset its "
                                        "password.", code="email_taken")
        return email


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What the token is for, e.g. 'laptop'.")
    expires = forms.ChoiceField(
        choices=[(k, f"{v} days" if v else "never") for k, v in EXPIRY_CHOICES.items()],
        initial=DEFAULT_EXPIRY, label="Expires after")

    def days(self) -> int | None:
        return EXPIRY_CHOICES[self.cleaned_data["expires"]]


class BudgetForm(forms.Form):
    """The budget explorer's inputs (one per ``leaderboard.budget.LIMITS``), read by the same
    strict parser as the API's, so the site and the API accept exactly the same values.
    ``budget`` is the budget read (empty until valid)."""

    def __init__(self, data=None):
        super().__init__(data)
        self.budget = Budget()
        for limit in LIMITS:
            self.fields[limit.param] = forms.CharField(
                label=limit.label, required=False, help_text=limit.unit,
                widget=forms.NumberInput(attrs={"min": "0", "step": "any",
                                                "inputmode": "decimal", "placeholder": "any"}))

    def clean(self):
        try:
            self.budget = parse_budget(self.data)
        except BudgetInvalid as invalid:
            for problem in invalid.problems:
                self.add_error(problem.name, problem.message)
        return self.cleaned_data


def budget_form(query) -> BudgetForm:
    """The budget form bound to a request's query string and validated."""
    form = BudgetForm(query)
    form.is_valid()
    return form
