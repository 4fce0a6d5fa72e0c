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
