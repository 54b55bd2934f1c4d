"""The one schema of PRIME's clinical variables: names, units, ranges, codings, help texts.

Everything that touches a clinical value reads this module: validation, the derived indices, cohort
import, the Slicer panel, the CLI and the model bundle. Canonical units are those of
``docs/CLINICAL.md`` (SI, as in Chinese and European hepatology): bilirubin µmol/L, albumin g/L,
blood counts 10⁹/L, tumour diameter cm, mRECIST sums mm.

Ranges: ``minimum``/``maximum`` are hard limits (outside: an error); ``typical`` is the usual range
(outside: a warning). ``alternative_units`` lists common wrong units, with the factor that converts them
and the band of values that gives them away (albumin 3.5 is g/dL, not g/L).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from PRIMELib.errors import PRIMEInputError

#: Bumped whenever a name, unit or coding changes meaning; model bundles record it.
SCHEMA_VERSION = 1


class Kind(StrEnum):
    """How a variable is coded."""

    NUMBER = "number"  # a real number in ``unit``
    INTEGER = "integer"  # a whole number (a count or a score)
    ORDINAL = "ordinal"  # one of ``choices``, integer codes (0/1 flags are ordinals with two codes)
    CATEGORY = "category"  # one of ``choices``, text codes
    TEXT = "text"  # free text (the case identifier)


@dataclass(frozen=True)
class Choice:
    """One allowed code of an ordinal or categorical variable.

    ``aliases`` are other spellings accepted for it (case-insensitive); ``warning`` is shown when it is
    chosen (e.g. ECOG 2: outside the PRIME cohort).
    """

    code: int | str
    label: str
    aliases: tuple[str, ...] = ()
    warning: str = ""


@dataclass(frozen=True)
class AlternativeUnit:
    """A unit a value is often entered in by mistake or exported in.

    ``factor`` converts it: canonical value = value × factor (``None``: no conversion exists, e.g. a
    percentage of white cells). Values inside ``looks_like`` (inclusive) suggest this unit was used.
    """

    unit: str
    factor: float | None
    looks_like: tuple[float, float] | None = None
    advice: str = ""

    def hint(self, value: float, canonical_unit: str) -> str:
        """The sentence shown when ``value`` looks like it was entered in this unit."""
        if self.factor is None:
            return f"{value:g} looks like {self.unit}; {self.advice}."
        converted = value * self.factor
        how = f"multiply by {self.factor:g}" if self.factor >= 1 else f"divide by {1 / self.factor:g}"
        return (
            f"{value:g} looks like {self.unit}: {how} for {canonical_unit} "
            f"({value:g} {self.unit} = {converted:.4g} {canonical_unit})."
        )


@dataclass(frozen=True)
class ClinicalVariable:
    """One clinical variable of the paper, or one index derived from them."""

    name: str
    label: str
    kind: Kind
    group: str
    help: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    typical: tuple[float, float] | None = None
    choices: tuple[Choice, ...] = ()
    alternative_units: tuple[AlternativeUnit, ...] = ()
    #: Inputs it is computed from; non-empty means "derived: computed whenever these exist".
    derived_from: tuple[str, ...] = ()
    #: Other names people use for it (for "did you mean" suggestions only, never silent mapping).
    synonyms: tuple[str, ...] = ()
    #: Text codes with a natural order (Child–Pugh A < B < C, BCLC 0 < A < … < D), listed in that order.
    #: Integer-coded ordinals are ordered by their codes; other categories are nominal.
    ordered: bool = False

    @property
    def is_derived(self) -> bool:
        return bool(self.derived_from)

    @property
    def is_ordered(self) -> bool:
        """True for ordinal codes: integer codes, or text codes in a natural order."""
        return self.kind is Kind.ORDINAL or (self.kind is Kind.CATEGORY and self.ordered)

    @property
    def codes(self) -> tuple[int | str, ...]:
        return tuple(choice.code for choice in self.choices)

    def expected(self) -> str:
        """What a valid value looks like, in words (used in error messages)."""
        if self.kind in (Kind.ORDINAL, Kind.CATEGORY):
            return "one of " + ", ".join(
                str(c.code) if c.label == c.code else f"{c.code} ({c.label})" for c in self.choices
            )
        if self.kind is Kind.TEXT:
            return "text"
        what = "a whole number" if self.kind is Kind.INTEGER else "a number"
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and self.maximum is not None:
            return f"{what} from {self.minimum:g} to {self.maximum:g}{unit}"
        return what + (f" in{unit}" if unit else "")

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready description (for the model bundle, the panel and the docs)."""
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data


def _simplify(text: str) -> str:
    """Lower case, units in brackets dropped, '_' and '-' as spaces: "Albumin (g/dL)" → "albumin"."""
    text = re.sub(r"[(\[].*?[)\]]", " ", text.casefold())
    return " ".join(re.sub(r"[_\-]", " ", text).split())


class ClinicalSchema:
    """The ordered, read-only collection of :class:`ClinicalVariable`, looked up by machine name."""

    def __init__(self, variables: tuple[ClinicalVariable, ...]) -> None:
        self._by_name = {v.name: v for v in variables}
        if len(self._by_name) != len(variables):
            raise RuntimeError("Duplicate variable names in the clinical schema.")

    def __iter__(self) -> Iterator[ClinicalVariable]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def group(self, group: str) -> tuple[ClinicalVariable, ...]:
        return tuple(v for v in self if v.group == group)

    def get_variable(self, name: str) -> ClinicalVariable:
        """The variable called ``name``; an unknown name raises an error with suggestions."""
        if name in self:
            return self._by_name[name]
        suggestions = self.suggest(str(name))
        hint = f"Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else None
        raise PRIMEInputError(
            f"Unknown clinical variable {str(name)!r}.",
            field=str(name),
            value=name,
            expected="one of the names in PRIMELib.clinical.CLINICAL_SCHEMA",
            hint=hint,
        )

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Schema names close to ``name`` (by name, label or synonym), best first.

        Only near-best matches are kept, plus an exact match of the first word ("age_years" → age).
        """
        if len(name) > 64:  # no schema name is that long; difflib's cost grows with the product of lengths
            return []
        candidates: dict[str, str] = {}
        for variable in self:
            for spelling in (variable.name, variable.label, *variable.synonyms):
                candidates.setdefault(_simplify(spelling), variable.name)
        query = _simplify(name)
        scored = sorted(
            (
                (difflib.SequenceMatcher(None, query, text).ratio(), target)
                for text, target in candidates.items()
            ),
            key=lambda pair: -pair[0],
        )
        best = scored[0][0] if scored else 0.0
        floor = 1.0 if best == 1.0 else max(0.6, best - 0.1)  # an exact spelling stands alone
        picks = [target for ratio, target in scored if ratio >= floor]
        first_word = query.split(" ")[0]
        if first_word in candidates:
            picks.append(candidates[first_word])
        return list(dict.fromkeys(picks))[:limit]

    def to_dict(self) -> dict[str, object]:
        return {"schema_version": SCHEMA_VERSION, "variables": [v.to_dict() for v in self]}


# ----------------------------------------------------------------------------------------------
# The variables. Short helpers keep the table one line per variable where it fits.


def _num(
    name: str,
    label: str,
    group: str,
    unit: str,
    allowed: tuple[float, float],
    typical: tuple[float, float] | None,
    help: str,
    *,
    alternatives: tuple[AlternativeUnit, ...] = (),
    synonyms: tuple[str, ...] = (),
    derived_from: tuple[str, ...] = (),
    kind: Kind = Kind.NUMBER,
) -> ClinicalVariable:
    """A number (or whole number) in ``unit`` within ``allowed``; outside ``typical`` it warns."""
    return ClinicalVariable(
        name,
        label,
        kind,
        group,
        help,
        unit=unit,
        minimum=allowed[0],
        maximum=allowed[1],
        typical=typical,
        alternative_units=alternatives,
        derived_from=derived_from,
        synonyms=synonyms,
    )


def _coded(
    name: str,
    label: str,
    group: str,
    help: str,
    choices: tuple[Choice, ...],
    *,
    derived_from: tuple[str, ...] = (),
    synonyms: tuple[str, ...] = (),
    ordered: bool = False,
) -> ClinicalVariable:
    """An ordinal (integer codes) or a category (text codes, ``ordered`` when they rank), from the type
    of its codes."""
    kind = Kind.ORDINAL if isinstance(choices[0].code, int) else Kind.CATEGORY
    return ClinicalVariable(
        name,
        label,
        kind,
        group,
        help,
        choices=choices,
        derived_from=derived_from,
        synonyms=synonyms,
        ordered=ordered,
    )


def _flag(
    name: str,
    label: str,
    group: str,
    help: str,
    derived_from: tuple[str, ...] = (),
    *,
    synonyms: tuple[str, ...] = (),
) -> ClinicalVariable:
    """A 0/1 variable; yes/no, true/false and positive/negative are accepted spellings."""
    no = Choice(0, "no", aliases=("false", "negative", "n"))
    yes = Choice(1, "yes", aliases=("true", "positive", "y"))
    return _coded(name, label, group, help, (no, yes), derived_from=derived_from, synonyms=synonyms)


def _choices(*labels: str) -> tuple[Choice, ...]:
    """Integer codes 0, 1, 2, … with these labels."""
    return tuple(Choice(code, label) for code, label in enumerate(labels))


def _ukat(upper: float) -> tuple[AlternativeUnit, ...]:
    """Enzyme activities reported in µkat/L (1 µkat/L = 60 U/L)."""
    return (AlternativeUnit("µkat/L", 60.0, (0.01, upper)),)


def _count(
    name: str, label: str, maximum: float, typical: tuple[float, float], percent_from: float, *synonyms: str
) -> ClinicalVariable:
    """A blood count in 10⁹/L; a percentage of white cells and cells/µL are the usual slips."""
    slips = (
        AlternativeUnit("a percentage of white cells", None, (percent_from, 100), "enter the absolute count"),
        AlternativeUnit("cells/µL", 0.001, (100.01, 1e6)),
    )
    help = f"{label}, absolute count in 10⁹/L (cells/µL ÷ 1000)."
    return _num(
        name, label, "labs", "10⁹/L", (0.01, maximum), typical, help, alternatives=slips, synonyms=synonyms
    )


_AGENTS_IO = (
    "camrelizumab tislelizumab sintilimab pembrolizumab toripalimab cadonilimab penpulimab atezolizumab "
    "durvalumab nivolumab other"
).split()
_AGENTS_TARGETED = "lenvatinib sorafenib donafenib apatinib anlotinib bevacizumab other".split()
_ECOG_OUTSIDE = "ECOG {} is outside the PRIME cohort (ECOG 0–1)."

_BASELINE: tuple[ClinicalVariable, ...] = (
    ClinicalVariable("case_id", "Case identifier", Kind.TEXT, "case", "Your identifier of the case."),
    _num("age", "Age", "demographics", "years", (18, 100), (25, 90), "Age at treatment start, years."),
    _coded(
        "sex",
        "Sex",
        "demographics",
        "Sex: female or male.",
        (Choice("female", "female", ("f", "woman")), Choice("male", "male", ("m", "man"))),
        synonyms=("gender",),
    ),
    _num("bmi", "Body-mass index", "demographics", "kg/m²", (10, 60), (15, 40), "Body-mass index, kg/m²."),
    _num(
        "weight",
        "Weight",
        "demographics",
        "kg",
        (25, 250),
        (35, 130),
        "Body weight, kg.",
        alternatives=(AlternativeUnit("lb", 0.45359237, (250.01, 550)),),
    ),
    _coded(
        "ecog",
        "ECOG performance status",
        "demographics",
        "ECOG performance status 0–4. PRIME's cohort had ECOG 0–1; 2–4 are accepted with a warning.",
        (
            *_choices("fully active", "restricted in strenuous activity"),
            Choice(2, "ambulatory, capable of all self-care", warning=_ECOG_OUTSIDE.format(2)),
            Choice(3, "capable of only limited self-care", warning=_ECOG_OUTSIDE.format(3)),
            Choice(4, "completely disabled", warning=_ECOG_OUTSIDE.format(4)),
        ),
        synonyms=("ecog ps", "performance status", "ps"),
    ),
    _flag("hbv", "Hepatitis B infection", "history", "Hepatitis B infection (HBsAg positive): 0 no, 1 yes."),
    _flag(
        "hcv",
        "Hepatitis C infection",
        "history",
        "Hepatitis C infection (anti-HCV antibody or HCV RNA positive): 0 no, 1 yes.",
        synonyms=("hepatitis c", "hcv infection", "anti hcv"),
    ),
    _flag("cirrhosis", "Liver cirrhosis", "history", "Liver cirrhosis: 0 no, 1 yes."),
)

_LABS: tuple[ClinicalVariable, ...] = (
    _num(
        "alt", "ALT", "labs", "U/L", (1, 5000), (5, 500), "Alanine aminotransferase, U/L (µkat/L × 60).",
        alternatives=_ukat(4.99), synonyms=("alanine aminotransferase", "sgpt", "gpt"),
    ),
    _num(
        "ast", "AST", "labs", "U/L", (1, 5000), (5, 500), "Aspartate aminotransferase, U/L (µkat/L × 60).",
        alternatives=_ukat(4.99), synonyms=("aspartate aminotransferase", "sgot", "got"),
    ),
    _num(
        "tbil", "Total bilirubin", "labs", "µmol/L", (2, 850), (3, 400), "Total bilirubin (mg/dL × 17.1).",
        alternatives=(AlternativeUnit("mg/dL", 17.1, (0.05, 2.99)),),
        synonyms=("bilirubin", "total bilirubin", "tbili", "bil"),
    ),
    _num(
        "alb", "Serum albumin", "labs", "g/L", (10, 70), (20, 55), "Serum albumin, g/L (g/dL × 10).",
        alternatives=(AlternativeUnit("g/dL", 10.0, (0.5, 7.0)),), synonyms=("albumin",),
    ),
    _num(
        "afp", "AFP", "labs", "ng/mL", (0, 1e7), None,
        "Alpha-fetoprotein, ng/mL (IU/mL × 1.21). Values below 1 ng/mL count as 1 in log10 AFP.",
        alternatives=(AlternativeUnit("IU/mL", 1.21), AlternativeUnit("kU/L", 1.21)),
        synonyms=("alpha-fetoprotein", "alpha fetoprotein"),
    ),
    _num(
        "pt", "Prothrombin time", "labs", "s", (8, 60), (9, 30),
        "Prothrombin time, seconds (not the INR, not prothrombin activity %).",
        alternatives=(
            AlternativeUnit("an INR", None, (0.5, 7.99), "enter it as inr, and PT in seconds"),
            AlternativeUnit("prothrombin activity (%)", None, (30, 150), "enter the time in seconds"),
        ),
        synonyms=("prothrombin time",),
    ),
    _num(
        "inr", "INR", "labs", "ratio", (0.7, 10), (0.8, 4), "International normalised ratio (no unit).",
        alternatives=(AlternativeUnit("a prothrombin time in seconds", None, (10.01, 60), "enter it as pt"),),
        synonyms=("international normalized ratio",),
    ),
    _count("mon", "Monocyte count", 5, (0.05, 2), 2.01, "monocytes", "mono"),
    _count("lym", "Lymphocyte count", 20, (0.2, 5), 5.01, "lymphocytes", "lymph"),
    _count("neu", "Neutrophil count", 50, (0.5, 20), 20.01, "neutrophils", "neut"),
    _num(
        "plt", "Platelet count", "labs", "10⁹/L", (5, 1500), (20, 700), "Platelets, 10⁹/L (cells/µL ÷ 1000).",
        alternatives=(AlternativeUnit("cells/µL", 0.001, (5000, 5e6)),), synonyms=("platelets",),
    ),
    _num(
        "ldh", "LDH", "labs", "U/L", (30, 10000), (80, 2000), "Lactate dehydrogenase, U/L (µkat/L × 60).",
        alternatives=_ukat(29.99), synonyms=("lactate dehydrogenase",),
    ),
)  # fmt: skip

#: Labs measured at baseline and again one month after treatment start (``<lab>_1m``).
LAB_NAMES: tuple[str, ...] = tuple(v.name for v in _LABS)


def _one_month(lab: ClinicalVariable) -> ClinicalVariable:
    return replace(
        lab,
        name=f"{lab.name}_1m",
        label=f"{lab.label} at 1 month",
        group="labs_1m",
        help=f"{lab.help} Measured one month after treatment start.",
        synonyms=tuple(f"{s} 1m" for s in lab.synonyms),
    )


def _delta(lab: ClinicalVariable) -> ClinicalVariable:
    help = f"Relative change of {lab.label} at one month: (x_1m − x) / x; −0.25 means a 25 % fall."
    return _num(
        f"delta_{lab.name}", f"Δ{lab.label} (1 month)", "derived", "fraction", (-1, 1e4), None, help,
        derived_from=(lab.name, f"{lab.name}_1m"),
    )  # fmt: skip


_LIVER: tuple[ClinicalVariable, ...] = (
    _coded(
        "ascites", "Ascites", "liver", "Ascites for Child–Pugh: 0 none, 1 mild, 2 moderate–severe.",
        _choices("none", "mild", "moderate–severe"),
    ),
    _coded(
        "encephalopathy", "Hepatic encephalopathy", "liver",
        "Hepatic encephalopathy for Child–Pugh: 0 none, 1 grade 1–2, 2 grade 3–4.",
        _choices("none", "grade 1–2", "grade 3–4"),
    ),
    _num(
        "child_pugh", "Child–Pugh score", "liver", "points", (5, 15), None,
        "Child–Pugh points 5–15; computed from tbil, alb, inr, ascites and encephalopathy when all exist.",
        derived_from=("tbil", "alb", "inr", "ascites", "encephalopathy"), kind=Kind.INTEGER,
    ),
    _coded(
        "child_pugh_class", "Child–Pugh class", "liver", "Child–Pugh class: A 5–6, B 7–9, C 10–15 points.",
        (Choice("A", "5–6 points"), Choice("B", "7–9 points"), Choice("C", "10–15 points")),
        derived_from=("child_pugh",), ordered=True,
    ),
    _num(
        "albi_score", "ALBI score", "liver", "", (-10, 5), None,
        "ALBI = 0.66 × log10(bilirubin µmol/L) − 0.085 × albumin g/L (Johnson et al., JCO 2015).",
        derived_from=("tbil", "alb"),
    ),
    _coded(
        "albi_grade", "ALBI grade", "liver", "ALBI grade: 1 (score ≤ −2.60), 2 (≤ −1.39), 3 (> −1.39).",
        (Choice(1, "score ≤ −2.60"), Choice(2, "−2.60 < score ≤ −1.39"), Choice(3, "score > −1.39")),
        derived_from=("albi_score",),
    ),
)  # fmt: skip

_TUMOUR: tuple[ClinicalVariable, ...] = (
    _num(
        "tumor_diameter", "Largest tumour diameter", "tumour", "cm", (0.5, 30), (1, 20),
        "Largest tumour diameter, cm (mm ÷ 10).",
        alternatives=(AlternativeUnit("mm", 0.1, (10.01, 300)),),
        synonyms=("tumour diameter", "tumor size", "diameter"),
    ),
    _num(
        "tumor_number", "Number of tumours", "tumour", "nodules", (1, 99), None,
        "Number of intrahepatic tumour nodules (1 = single).",
        synonyms=("tumour number", "number of nodules", "nodules"), kind=Kind.INTEGER,
    ),
    _coded(
        "hvtt", "Hepatic vein tumour thrombus", "tumour",
        "Hepatic vein tumour thrombus, Cheng's classification: 0 none, 1 hepatic vein (I), "
        "2 inferior vena cava (II), 3 right atrium (III).",
        _choices("none", "I: hepatic vein", "II: inferior vena cava", "III: right atrium"),
    ),
    _coded(
        "pvtt", "Portal vein tumour thrombus", "tumour",
        "Portal vein tumour thrombus, Cheng's classification: 0 none, 1 segmental/sectoral branches (I), "
        "2 right or left portal vein (II), 3 main trunk (III), 4 superior mesenteric vein (IV). "
        "Convert Vp0–Vp4 records to Cheng's types before import.",
        _choices(
            "none", "I: segmental/sectoral branches", "II: right/left portal vein", "III: main trunk",
            "IV: superior mesenteric vein",
        ),
    ),
    _flag(
        "macrovascular_invasion", "Macrovascular invasion", "tumour",
        "Macrovascular (portal or hepatic vein) tumour invasion on imaging: 0 no, 1 yes. Use it when a "
        "cohort records invasion without Cheng's pvtt/hvtt types.",
        synonyms=("vascular invasion", "portal vein invasion", "macroscopic vascular invasion", "pvi"),
    ),
    _flag(
        "tumor_over_50pct", "Tumour involvement > 50 % of the liver", "tumour",
        "Tumour occupying more than half of the liver volume: 0 no, 1 yes.",
        synonyms=("tumour involvement > 50%", "tumor burden > 50%", "liver involvement", "tumour burden"),
    ),
    _flag("ehm", "Extrahepatic metastasis", "tumour", "Extrahepatic metastasis: 0 no, 1 yes."),
    _coded(
        "bclc", "BCLC stage", "tumour",
        "BCLC stage (2022): computed from tumour number and size, vascular invasion, EHM, ECOG and "
        "Child–Pugh class when all exist; otherwise as entered.",
        tuple(Choice(s, f"stage {s}") for s in ("0", "A", "B", "C", "D")),
        derived_from=("tumor_number", "tumor_diameter", "pvtt", "hvtt", "ehm", "ecog", "child_pugh_class"),
        ordered=True,
    ),
)  # fmt: skip

_TREATMENT: tuple[ClinicalVariable, ...] = (
    _coded(
        "interventional", "Interventional therapy", "treatment", "TACE, HAIC, or both (TACE+HAIC).",
        (
            Choice("TACE", "TACE alone"),
            Choice("HAIC", "HAIC alone"),
            Choice("TACE+HAIC", "TACE combined with HAIC", ("haic+tace", "tace-haic", "tace and haic")),
        ),
    ),
    _coded(
        "immunotherapy", "Immunotherapy agent", "treatment",
        "Immune checkpoint inhibitor given ('other' for an agent not listed).",
        tuple(Choice(a, a, ("ak104",) if a == "cadonilimab" else ()) for a in _AGENTS_IO),
    ),
    _coded(
        "targeted", "Targeted agent", "treatment",
        "Targeted (anti-angiogenic) agent given ('other' for an agent not listed).",
        tuple(Choice(a, a) for a in _AGENTS_TARGETED),
    ),
    _flag(
        "subsequent_therapy", "Subsequent anti-tumour therapy", "treatment",
        "Anti-tumour therapy after progression: 0 no, 1 yes.",
    ),
)  # fmt: skip

_INDICES: tuple[ClinicalVariable, ...] = (
    _num(
        "pni", "Prognostic nutritional index", "derived", "", (0, 200), None,
        "PNI (Onodera) = albumin g/L + 5 × lymphocytes 10⁹/L.", derived_from=("alb", "lym"),
    ),
    _num(
        "nlr", "Neutrophil–lymphocyte ratio", "derived", "ratio", (0, 5000), None,
        "NLR = neutrophils / lymphocytes.", derived_from=("neu", "lym"),
    ),
    _num(
        "plr", "Platelet–lymphocyte ratio", "derived", "ratio", (0, 150000), None,
        "PLR = platelets / lymphocytes.", derived_from=("plt", "lym"),
    ),
    _num(
        "sii", "Systemic immune-inflammation index", "derived", "10⁹/L", (0, 1e7), None,
        "SII = platelets × neutrophils / lymphocytes, in 10⁹/L.", derived_from=("plt", "neu", "lym"),
    ),
    _num(
        "log10_afp", "log10 AFP", "derived", "log10 ng/mL", (0, 7), None,
        "log10 of AFP in ng/mL; AFP below 1 ng/mL counts as 1 (log10 = 0).", derived_from=("afp",),
    ),
    *(_delta(lab) for lab in _LABS),
    _flag("sex_male", "Male sex", "derived", "1 for male, 0 for female.", ("sex",)),
    _flag("tace_haic", "TACE+HAIC", "derived", "1 for TACE+HAIC, 0 for one alone.", ("interventional",)),
    _flag("multiple_tumors", "Multiple tumours", "derived", "1 for two or more nodules.", ("tumor_number",)),
)  # fmt: skip


def _viable_sum(when: str, label: str, minimum: float) -> ClinicalVariable:
    help = (
        "mRECIST: sum of the longest diameters of the viable (arterially enhancing) part of the target "
        f"lesions, {label}, mm."
    )
    return _num(
        f"viable_sum_{when}_mm", f"Sum of viable target diameters, {label}", "response", "mm",
        (minimum, 1000), None, help, alternatives=(AlternativeUnit("cm", 10.0),),
    )  # fmt: skip


_RESPONSE: tuple[ClinicalVariable, ...] = (
    _viable_sum("baseline", "baseline (each target ≥ 10 mm)", 10),
    _viable_sum("followup", "at follow-up", 0),
    _viable_sum("nadir", "smallest so far, baseline included", 0),
    _flag("new_lesion", "New lesion", "response", "mRECIST: a new lesion at follow-up, 0 no, 1 yes."),
    _coded(
        "mrecist", "mRECIST category", "response",
        "mRECIST response of the target lesions: CR, PR, SD or PD (Lencioni & Llovet 2010).",
        (
            Choice("CR", "complete response"),
            Choice("PR", "partial response"),
            Choice("SD", "stable disease"),
            Choice("PD", "progressive disease"),
        ),
        derived_from=("viable_sum_baseline_mm", "viable_sum_followup_mm", "new_lesion"),
    ),
    _flag(
        "response", "Objective response", "outcome",
        "Objective response at 3 months (mRECIST CR or PR): the PRIME-R label.", ("mrecist",),
    ),
    _num(
        "os_days", "Overall survival time", "outcome", "days", (0, 10000), None,
        "Days from treatment start to death or last follow-up: the PRIME-S time.",
        alternatives=(
            AlternativeUnit("weeks", 7.0),
            AlternativeUnit("months", 365.25 / 12),
            AlternativeUnit("years", 365.25),
        ),
        synonyms=("overall survival", "os", "survival time"),
    ),
    _flag("os_event", "Death", "outcome", "1 died, 0 alive at last follow-up: the PRIME-S event."),
)  # fmt: skip

#: Every clinical variable and derived index, in display order.
CLINICAL_SCHEMA = ClinicalSchema(
    (
        *_BASELINE,
        *_LABS,
        *(_one_month(lab) for lab in _LABS),
        *_LIVER,
        *_TUMOUR,
        *_TREATMENT,
        *_INDICES,
        *_RESPONSE,
    )
)


def _coding(variable: ClinicalVariable) -> str:
    if variable.kind in (Kind.ORDINAL, Kind.CATEGORY):
        order = " (ordered)" if variable.is_ordered and variable.kind is Kind.CATEGORY else ""
        return (
            ", ".join(
                str(c.code) if str(c.code) == c.label else f"{c.code} ({c.label})" for c in variable.choices
            )
            + order
        )
    if variable.kind is Kind.TEXT:
        return "text"
    unit = variable.unit or "no unit"
    kind = "whole number, " if variable.kind is Kind.INTEGER else ""
    return f"{kind}{unit}, {variable.minimum:g} to {variable.maximum:g}"


def _other_units(variable: ClinicalVariable) -> str:
    return ", ".join(
        f"{a.unit} (× {a.factor:.6g})" for a in variable.alternative_units if a.factor is not None
    )


def schema_markdown(schema: ClinicalSchema = CLINICAL_SCHEMA) -> str:
    """The canonical clinical table as Markdown, one row per column (the README's table is this).

    The one-month labs (``<lab>_1m``) and their relative changes (``delta_<lab>``) are one row each.
    """
    rows = [
        "| column | meaning | unit, range or codes | other units a mapping may give |",
        "|---|---|---|---|",
    ]
    for variable in schema:
        if variable.group == "labs_1m" or variable.name.startswith("delta_"):
            continue
        meaning = variable.label + (
            f" (computed from {', '.join(variable.derived_from)} when they exist)"
            if variable.is_derived
            else ""
        )
        rows.append(f"| `{variable.name}` | {meaning} | {_coding(variable)} | {_other_units(variable)} |")
        if variable.name == LAB_NAMES[-1]:
            rows.append(
                "| `<lab>_1m` | the same lab one month after treatment start (" + ", ".join(LAB_NAMES) + ") "
                "| as the lab | as the lab |"
            )
    rows.append("| `delta_<lab>` | relative change at one month, (x_1m − x) / x (computed) | fraction | |")
    return "\n".join(rows) + "\n"


def get_variable(name: str) -> ClinicalVariable:
    """The schema entry for ``name``; an unknown name raises :class:`PRIMEInputError` with suggestions."""
    return CLINICAL_SCHEMA.get_variable(name)


__all__ = [
    "CLINICAL_SCHEMA",
    "LAB_NAMES",
    "SCHEMA_VERSION",
    "AlternativeUnit",
    "Choice",
    "ClinicalSchema",
    "ClinicalVariable",
    "Kind",
    "get_variable",
    "schema_markdown",
]
