"""``vcguard train CONFIG``: build a model artifact from a training config."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune the classifier and write a model artifact")
    p.add_argument("config", help="training config YAML, e.g. training/configs/release.yaml")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--install", action="store_true",
                   help="copy the new artifact over the shipped default (model/default_artifact)")
    p.set_defaults(handler=run)

    r = sub.add_parser("retune", help="re-choose an artifact's blend and thresholds on the dev split")
    r.add_argument("artifact", help="model artifact directory (its manifest.json is rewritten)")
    r.add_argument("--dev", default="data/build/dev.jsonl", help="dev rows in the corpus schema (default: %(default)s)")
    r.add_argument("--target-precision", type=float, default=0.98,
                   help="precision the block thresholds aim at (default: %(default)s)")
    r.add_argument("--block-screen", action="store_true",
                   help="let posts a rule matched that the fallback blocks skip the transformer, if dev loses nothing by it")
    r.add_argument("--review", choices=("shared", "per_label"), default="shared",
                   help="review thresholds: one shared by all labels, or each label's own F1-best cut (default: %(default)s)")
    r.set_defaults(handler=run_retune)


def run(args: argparse.Namespace) -> int:
    import logging
    import shutil

    from model.loading import DEFAULT_ARTIFACT_DIR
    from training.config import TrainConfig
    from training.train import train

    logging.getLogger().setLevel(logging.INFO)
    if args.max_steps is not None and args.max_steps < 1:
        raise ValueError(f"--max-steps must be >= 1, got {args.max_steps}")
    artifact = train(TrainConfig.from_yaml(args.config), max_steps=args.max_steps)
    print(f"artifact: {artifact}")
    if args.install:
        shutil.rmtree(DEFAULT_ARTIFACT_DIR, ignore_errors=True)
        shutil.copytree(artifact, DEFAULT_ARTIFACT_DIR)
        print(f"installed as the default artifact: {DEFAULT_ARTIFACT_DIR}")
    return 0


def run_retune(args: argparse.Namespace) -> int:
    from training.train import retune

    if not 0.5 <= args.target_precision <= 1.0:
        raise ValueError(f"--target-precision must be in [0.5, 1], got {args.target_precision}")
    tuning = retune(args.artifact, args.dev, args.target_precision, block_screen=args.block_screen,
                    review=args.review)
    print(f"{args.artifact}: model_weight {tuning.blend.model_weight}, rule_override {tuning.blend.rule_override}, "
          f"screen_below {tuning.blend.screen_below}, screen_blocks {tuning.blend.screen_blocks}, review thresholds "
          f"{args.review}, dev macro F1 {tuning.dev_f1:.4f} (fallback {tuning.fallback_dev_f1:.4f})")
    return 0
