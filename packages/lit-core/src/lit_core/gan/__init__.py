"""StarGAN generator compression with LIT (the paper's Table 3 / Fig. 5 experiment).

Entry points (the ``lit`` CLI dispatches a preset with ``task = "gan"`` here)::

    run(config, run_dir, *, resume=False, overwrite=False, teacher_ckpt=None) -> list[dict]
    train_teacher(config, run_dir, *, resume=False, overwrite=False, export=None) -> Path

``config`` is the preset's TOML tables as a plain dict (``lit_core/configs/gan-cpu.toml``;
tables documented in ``config.py``). ``run`` checks everything before training, trains the
``lit`` / ``l2`` / ``scratch`` students from the teacher, scores every generator (FID/KID/IS on a
classifier's features unless Inception weights are given, and translation accuracy) and writes
``table.md``/``table.json``/``grid.png``/``run.json`` into ``run_dir``; it returns the table rows.
``train_teacher`` trains the teacher G/D with the StarGAN objective into ``run_dir/teacher/``
(history, record) and writes the portable float16 teacher file. Modules: ``data`` (multi-domain
data), ``losses`` (WGAN-GP, domain, cycle), ``train`` (the StarGAN loop), ``compress`` (section
copy/freeze, β = 0 LIT and L2 section training), ``official`` (official checkpoint key mapping),
``teacher_files`` (teacher checkpoints; the shipped ones live in ``weights/``),
``classifier``/``metrics`` (scores), ``grid``, ``report``.
Command line: ``python -m lit_core.gan --preset gan-cpu --out results [--train-teacher]``.
"""

from .run import run
from .teacher import train_teacher

__all__ = ["run", "train_teacher"]
