"""Exercise checkers: ``check_<exercise>(learner_function_or_class) -> CheckResult``.

A notebook writes ``from course_utils.checks import check_rnn_forward``. Every exercise has
one reference, in lesson code, and its checker (``checks/lessonNN.py``) imports it and
compares the learner's code with it on several test cases; the typical mistakes each get a
hint (table ``_mistakes(...)`` of ``(wrong output, hint)``, see ``checks/_core.py``).

Lesson -> exercise (written in the notebook) -> reference (lesson code in ``course_utils``)
-> checker:

* 01 ``rnn_forward`` -> ``rnn.keras_simple_rnn`` -> ``check_rnn_forward``
* 02 ``positional_encoding`` -> ``layers.sinusoidal_position_encoding`` -> ``check_positional_encoding``
* 03 ``scaled_dot_product_attention`` -> ``attention.scaled_dot_product_attention``
  -> ``check_scaled_dot_product_attention``
* 03 ``split_heads`` / ``merge_heads`` -> ``attention.split_heads`` / ``attention.merge_heads``
  -> ``check_split_merge_heads``
* 04 ``TransformerBlock`` -> ``layers.TransformerBlock`` -> ``check_transformer_block``
* 05 ``mean_pool`` -> ``layers.mean_pool`` -> ``check_mean_pool``
* 06 ``extract_patches`` -> ``vision.patches.extract_patches`` -> ``check_extract_patches``
* 07 ``build_transfer_model`` -> ``vision.transfer.build_transfer_model`` -> ``check_transfer_model``
* 08 ``attention_rollout`` -> ``rollout.attention_rollout`` -> ``check_attention_rollout``

A new lesson's checker: ``checks/lessonNN.py`` with ``__all__``, a row above, an explicit
import below, and ``tests/test_checks_lessonNN.py`` (one test per diagnosed mistake).
"""

from course_utils.checks._core import CheckResult, LearnerError, call_learner, run_checker
from course_utils.checks.lesson01 import check_rnn_forward
from course_utils.checks.lesson02 import check_positional_encoding
from course_utils.checks.lesson03 import check_scaled_dot_product_attention, check_split_merge_heads
from course_utils.checks.lesson04 import check_transformer_block
from course_utils.checks.lesson05 import check_mean_pool
from course_utils.checks.lesson06 import check_extract_patches
from course_utils.checks.lesson07 import check_transfer_model
from course_utils.checks.lesson08 import check_attention_rollout

__all__ = [
    "CheckResult",
    "LearnerError",
    "call_learner",
    "check_attention_rollout",
    "check_extract_patches",
    "check_mean_pool",
    "check_positional_encoding",
    "check_rnn_forward",
    "check_scaled_dot_product_attention",
    "check_split_merge_heads",
    "check_transfer_model",
    "check_transformer_block",
    "run_checker",
]
