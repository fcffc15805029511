"""Generate the seeded-error variants of the clean answers (deterministic; run from the repo root).

    .venv/bin/python tests/corpus/answers/make_seeded.py

Each clean text ``clean/NAME.txt`` gets ``seeded/NAME.txt`` with a few misspelled words and
``seeded/NAME.json`` listing exactly which words were changed (the ground truth). Misspellings are
typical slips made by people (a table of real ones) or one random edit (a missing, extra,
swapped or wrong letter). An edit that happens to give another real word is skipped: no checker
without context can see it. Names and glossary terms are never mutated.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pymorphy3

ROOT = Path(__file__).resolve().parent
SEED = 76
ERRORS_PER_TEXT = 3
WORD = re.compile(r"(?<![\w-])[а-яё]{5,}(?![\w-])")
NEIGHBOURS = "йцукенгшщзхъ фывапролджэ ячсмитьбю"
VOWEL_SLIPS = {"а": "о", "о": "а", "е": "и", "и": "е", "я": "е", "ё": "е"}
TYPICAL = {
    "рассчитан": "расчитан",
    "рассчитывается": "расчитывается",
    "командировки": "командеровки",
    "командировке": "командеровке",
    "вычет": "вычит",
    "заработной": "зароботной",
    "бухгалтерию": "бугалтерию",
    "бухгалтерия": "бухгалтерея",
    "предоставляется": "предостовляется",
    "отпускные": "отпусные",
    "необходимо": "неоходимо",
    "пожалуйста": "пожалуста",
    "представьте": "предоставте",
    "удерживается": "удерживаеться",
    "компенсация": "компенсацыя",
    "перечислена": "перечеслена",
    "оплачиваются": "оплачиваюся",
    "выплачивается": "выплачиваеться",
    "сотрудника": "сотрудникка",
    "инвентаризация": "инвентаризацыя",
}


def mutate(word: str, rng: random.Random) -> str:
    if word in TYPICAL and rng.random() < 0.7:
        return TYPICAL[word]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("delete", "swap", "vowel", "double", "neighbour"))
    if kind == "delete":
        return word[:i] + word[i + 1:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "vowel" and word[i] in VOWEL_SLIPS:
        return word[:i] + VOWEL_SLIPS[word[i]] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    row = next((r for r in NEIGHBOURS.split() if word[i] in r), "")
    j = row.find(word[i])
    near = [row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)]
    return word[:i] + (rng.choice(near) if near else "ы") + word[i + 1:]


def protected(root: Path) -> set[str]:
    names = (root / "names.txt").read_text(encoding="utf-8").split()
    glossary = (root.parents[2] / "rules" / "glossary.txt").read_text(encoding="utf-8").split()
    return {w.lower() for w in names + glossary}


def seed_text(text: str, rng: random.Random, morph: pymorphy3.MorphAnalyzer,
              skip: set[str]) -> tuple[str, list[dict[str, object]]]:
    spots = [m for m in WORD.finditer(text) if m.group() not in skip]
    chosen = sorted(rng.sample(spots, min(len(spots), ERRORS_PER_TEXT * 3)), key=lambda m: m.start())
    edits: list[tuple[int, int, str, str]] = []
    for m in chosen:
        bad = mutate(m.group(), rng)
        if bad != m.group() and not morph.word_is_known(bad) and len(edits) < ERRORS_PER_TEXT:
            edits.append((m.start(), m.end(), m.group(), bad))
    out, errors, shift = text, [], 0
    for start, end, good, bad in sorted(edits):
        out = out[:start + shift] + bad + out[end + shift:]
        errors.append({"start": start + shift, "end": start + shift + len(bad),
                       "word": bad, "correct": good})
        shift += len(bad) - len(good)
    return out, errors


def main() -> None:
    rng = random.Random(SEED)
    morph = pymorphy3.MorphAnalyzer()
    skip = protected(ROOT)
    out_dir = ROOT / "seeded"
    out_dir.mkdir(exist_ok=True)
    for path in sorted((ROOT / "clean").glob("*.txt")):
        text, errors = seed_text(path.read_text(encoding="utf-8"), rng, morph, skip)
        (out_dir / path.name).write_text(text, encoding="utf-8")
        truth = {"source": f"clean/{path.name}", "errors": errors}
        (out_dir / f"{path.stem}.json").write_text(
            json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
