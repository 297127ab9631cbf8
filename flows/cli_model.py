"""``reelwright model …``: presets, train, sample, eval, serve — the dual-stream model from the command line.

Torch is imported inside the commands only, so ``reelwright --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from schemas.errors import ConfigError

model_app = typer.Typer(
    name="model",
    help="The dual-stream audio-video MMDiT: size presets, training on the toy world, sampling, evaluation, serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_CKPT_HELP = "checkpoint directory (default: the shipped model_core/checkpoints/tiny)"


def _logging(verbose: bool = True) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S")  # fmt: skip


@model_app.command("presets")
def presets_cmd(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Size presets with their parameter counts."""
    from model_core.config import PRESETS, presets_table

    if as_json:
        typer.echo(json.dumps({n: {"params": c.param_count(), **c.param_breakdown()} for n, c in PRESETS.items()},
                              indent=2))  # fmt: skip
    else:
        typer.echo(presets_table())


@model_app.command("train")
def train_cmd(
    preset: str = typer.Option("tiny", "--preset", help="model size preset"),
    steps: int = typer.Option(3000, "--steps", min=1, help="optimizer steps in total (a resumed run counts on)"),
    out: Path = typer.Option(Path("model_core/checkpoints/tiny"), "--out", help="checkpoint directory"),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    lr: float = typer.Option(1e-3, "--lr", min=0.0),
    ema: float = typer.Option(0.999, "--ema", min=0.0, max=1.0, help="EMA decay of the sampled weights"),
    grad_clip: float = typer.Option(1.0, "--grad-clip", min=0.0),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="continue the run in --out if there is one"),
    max_minutes: float | None = typer.Option(
        26.0, "--max-minutes", help="stop (and save) after this wall time, so `make model` stays within 30 min"
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="torch CPU threads"),
    picture_given: float = typer.Option(
        0.2, "--picture-given", min=0.0, max=0.99, help="fraction of clips trained video-to-audio (picture given)"
    ),
    onset_weight: float = typer.Option(
        0.0, "--onset-weight", min=0.0, help="extra weight on the audio error around impact onsets (0 = plain mean)"
    ),
    init_from: Path | None = typer.Option(
        None, "--init-from", help="warm-start from this checkpoint's weights (new optimizer and schedule)"
    ),
    evaluate_after: bool = typer.Option(True, "--eval/--no-eval", help="evaluate and write metrics.json at the end"),
    eval_prompts: int = typer.Option(48, "--eval-prompts", min=2),
) -> None:
    """Train on the procedural toy world (data made on the fly); writes safetensors checkpoints, loss.jsonl, loss.png."""
    from model_core.train import train

    _logging()
    result = train(preset, steps, out, resume=resume, batch_size=batch_size, lr=lr, ema=ema, grad_clip=grad_clip,
                   seed=seed, max_minutes=max_minutes, threads=threads, picture_given=picture_given,
                   onset_weight=onset_weight, init_from=init_from)  # fmt: skip
    summary = {"out": str(result.out_dir), "step": result.step, "started_at": result.start_step,
               "train_seconds": round(result.seconds, 1), "last_loss": result.last_loss,
               "stopped_early": result.stopped_early}  # fmt: skip
    if evaluate_after:
        report = _evaluate_and_record(out, n_prompts=eval_prompts, seed=0)
        summary["eval"] = report["generated"]
    typer.echo(json.dumps(summary, indent=2))


def _evaluate_and_record(ckpt: Path | None, **kwargs) -> dict:  # noqa: ANN003
    from model_core.checkpoint import DEFAULT_CHECKPOINT
    from model_core.eval import evaluate
    from tasks.media.files import write_text_atomic

    report = evaluate(ckpt, **kwargs)
    write_text_atomic(Path(ckpt or DEFAULT_CHECKPOINT) / "metrics.json", json.dumps(report, indent=2) + "\n")
    return report


@model_app.command("sample")
def sample_cmd(
    ckpt: Path | None = typer.Argument(None, help=_CKPT_HELP),
    prompt: str = typer.Option(..., "--prompt", "-p", help='e.g. "two red rubber balls bouncing fast"'),
    out: Path = typer.Option(Path("sample.mp4"), "--out", "-o", help="MP4 to write (video + audio)"),
    seed: int = typer.Option(0, "--seed"),
    steps: int | None = typer.Option(None, "--steps", min=1, help="sampler steps (default: the checkpoint's)"),
    cfg_text: float | None = typer.Option(None, "--cfg-text", min=0.0, help="text guidance scale"),
    scale: int = typer.Option(8, "--scale", min=1, max=64, help="nearest-neighbour upscaling for viewing"),
    ema: bool = typer.Option(True, "--ema/--raw", help="sample the EMA or the raw weights"),
) -> None:
    """Generate one clip (picture and sound together) from a toy-world prompt into an MP4."""
    from model_core.checkpoint import load_checkpoint
    from model_core.latents import latent_space
    from model_core.toyworld import parse_prompt, write_mp4

    scene = parse_prompt(prompt)  # vocabulary errors before loading anything
    caption = scene.caption()
    loaded = load_checkpoint(ckpt, ema=ema)
    space = latent_space(loaded.config)
    videos, audios = loaded.generate([caption], seed=seed, steps=steps, cfg_text=cfg_text, batch_size=1)
    write_mp4(out, videos[0], audios[0], fps=space.fps, sample_rate=space.sample_rate, scale=scale)
    typer.echo(json.dumps({"out": str(out), "caption": caption, "checkpoint": str(loaded.path),
                           "frames": len(videos[0]), "fps": space.fps, "size": videos[0].shape[1] * scale,
                           "sampler": loaded.sampling(steps=steps, cfg_text=cfg_text)}, indent=2))  # fmt: skip


@model_app.command("eval")
def eval_cmd(
    ckpt: Path | None = typer.Argument(None, help=_CKPT_HELP),
    n_prompts: int = typer.Option(48, "--n-prompts", "-n", min=2, help="held-out prompts to generate"),
    seed: int = typer.Option(0, "--seed"),
    steps: int | None = typer.Option(None, "--steps", min=1),
    cfg_text: float | None = typer.Option(None, "--cfg-text", min=0.0),
    shift: float | None = typer.Option(None, "--shift", min=0.01),
    audio_pass: bool | None = typer.Option(
        None, "--audio-pass/--joint-only", help="regenerate the sound given the finished picture (default: the checkpoint's setting)"
    ),
    cfg_picture: float | None = typer.Option(None, "--cfg-picture", min=0.0, help="picture guidance in the audio pass"),
    ema: bool = typer.Option(True, "--ema/--raw"),
    samples: Path | None = typer.Option(None, "--samples", help="also write the first six samples here: MP4s and samples.png, each beside the world's clip"),
    world_picture: bool = typer.Option(
        False, "--world-picture", help="also score the audio pass alone, given the world's own clips"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the full report as JSON"),
    record: bool = typer.Option(False, "--record", help="write the report to CKPT/metrics.json"),
) -> None:
    """Sync F1 (vs. a shuffled-audio baseline), colour and count adherence on held-out toy prompts."""
    from model_core.eval import evaluate

    report = evaluate(ckpt, n_prompts=n_prompts, seed=seed, steps=steps, cfg_text=cfg_text, shift=shift, ema=ema,
                      out_dir=samples, audio_pass=audio_pass, cfg_picture=cfg_picture,
                      world_picture=world_picture)  # fmt: skip
    if record:
        from model_core.checkpoint import DEFAULT_CHECKPOINT
        from tasks.media.files import write_text_atomic

        write_text_atomic(Path(ckpt or DEFAULT_CHECKPOINT) / "metrics.json", json.dumps(report, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    g, t = report["generated"], report["ground_truth"]
    typer.echo(f"checkpoint {report['checkpoint']} (step {report['step']}, {report['weights']} weights), "
               f"{report['n_prompts']} held-out prompts")  # fmt: skip
    typer.echo(f"  generated:    sync F1 {g['sync_f1']:.3f}  shuffled {g['shuffled_f1']:.3f}  "
               f"colour {g['colour_adherence']:.3f}  count {g['count_adherence']:.3f}")  # fmt: skip
    typer.echo(f"  ground truth: sync F1 {t['sync_f1']:.3f}  shuffled {t['shuffled_f1']:.3f}  "
               f"visual-vs-truth {t['visual_vs_truth_f1']:.3f}  audio-vs-truth {t['audio_vs_truth_f1']:.3f}")  # fmt: skip
    if "audio_given_world_picture" in report:
        w = report["audio_given_world_picture"]
        typer.echo(f"  audio pass on the world's pictures: sync F1 {w['sync_f1']:.3f}  "
                   f"shuffled {w['shuffled_f1']:.3f}")  # fmt: skip


@model_app.command("serve")
def serve_cmd(
    ckpt: Path | None = typer.Argument(None, help=_CKPT_HELP),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8765, "--port", min=0, max=65535),
    queue_size: int = typer.Option(8, "--queue-size", min=1, help="jobs waiting before new ones get 503"),
    threads: int = typer.Option(2, "--threads", min=1, help="torch CPU threads"),
) -> None:
    """HTTP inference server for the `remote` generation backend (one worker thread, bounded queue)."""
    from model_core.serve import serve

    if host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("reelwright.model.serve").warning("serving on %s: reachable beyond this machine", host)
    _logging()
    try:
        serve(ckpt, host=host, port=port, queue_size=queue_size, threads=threads)
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror}", field="port",
                          hint="pick another --port") from None  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
