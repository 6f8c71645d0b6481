"""The subcommands of ``simcc-lab``, one light module each: its parser (name, help, arguments) and the
function it runs.

Registering a command imports nothing heavy. A module adds its subparser and sets ``func``; arguments whose
definitions live in torch-side modules (the codecs' refinements, TrainConfig's fields, the reproduction's
modes) come from an ``arguments`` function that the root parser (:mod:`simcc_lab.cli`) calls only when that
command is chosen; ``func`` imports the code it runs when it runs. So ``simcc-lab --help`` and
``simcc-lab synth --help`` never import torch.
"""
