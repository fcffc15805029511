"""``buhdesk learn``: retrain the classification model from the corpus and corrections."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from buhdesk.cli.parser import RussianArgumentParser
from buhdesk.config import Config

LoadConfig = Callable[[argparse.Namespace], Config]
DEFAULT_CORPORA = ("tests/corpus/classify/tune", "tests/corpus/requests", "tests/corpus/heldout")
DEFAULT_HELDOUT = "tests/corpus/classify/heldout"


def register(sub: argparse._SubParsersAction[RussianArgumentParser],
             load_config: LoadConfig) -> None:
    p = sub.add_parser("learn", help="переобучить модель классификации",
                       description="Обучить модель классификации на размеченных письмах и "
                                   "исправлениях бухгалтеров, записать её рядом с правилами и "
                                   "показать, что изменилось на контрольной части.")
    p.add_argument("--corpus", action="append", default=None,
                   help="папка размеченных писем для обучения (можно несколько; по умолчанию "
                        + ", ".join(DEFAULT_CORPORA) + ")")
    p.add_argument("--heldout", default=DEFAULT_HELDOUT,
                   help="контрольная часть: на ней только измеряют (по умолчанию %(default)s)")
    p.add_argument("--no-store", action="store_true",
                   help="не брать исправления (correct) из базы")
    p.add_argument("--dry-run", action="store_true", help="показать отчёт, модель не записывать")
    p.set_defaults(func=lambda args: run_learn(args, load_config))


def run_learn(args: argparse.Namespace, load_config: LoadConfig) -> int:
    from buhdesk.rules.classify import NEEDS, PROCESSES, Classifier
    from buhdesk.rules.classify_model import MODEL_FILE, model_from_data
    from buhdesk.rules.learn import (
        corrected_samples,
        dump_model,
        measure,
        read_corpus,
        report,
        train,
    )
    from buhdesk.rules.ruleset import load_ruleset

    config = load_config(args)
    rules_dir = config.rules_dir
    before = load_ruleset(rules_dir)
    rules_only = Classifier(before.classifier.rules, before.classifier.settings,
                            before.classifier.lemmatizer)
    samples = []
    for folder in args.corpus or DEFAULT_CORPORA:
        samples.extend(read_corpus(Path(folder)))
    corrections = []
    if not args.no_store:
        from buhdesk.store.engine import opened_store

        with opened_store(config.store.url) as engine:
            corrections = corrected_samples(engine)
    samples.extend(corrections)
    if not samples:
        print("Ошибка: нет ни одного размеченного письма для обучения", file=sys.stderr)
        return 1
    model = train(samples, rules_only)
    heldout = read_corpus(Path(args.heldout))
    print(f"Обучено на {len(samples)} письмах "
          f"(из них исправлений бухгалтеров: {len(corrections)}).")
    if heldout:
        print(report("До", measure(before.classifier, heldout)))
        after = Classifier(rules_only.rules, rules_only.settings, rules_only.lemmatizer,
                           model_from_data(model, PROCESSES, NEEDS))
        print(report("После", measure(after, heldout)))
    if args.dry_run:
        print("Пробный запуск: модель не записана.")
        return 0
    target = rules_dir / MODEL_FILE
    target.write_text(dump_model(model), encoding="utf-8")
    print(f"Модель записана: {target} (служба подхватит её без перезапуска)")
    return 0
