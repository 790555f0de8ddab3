"""Device, precision and seeding helpers."""

import numpy as np
import pytest
import torch

from sklearn_scrubvae._solver.device import (
    autocast,
    check_precision,
    draw_seed,
    fast_float32,
    make_generator,
    resolve_device,
    seeded,
)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_seeded_block_leaves_the_global_stream_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    with seeded(7):
        inside = torch.rand(2)
    np.testing.assert_array_equal(torch.rand(3), expected)
    with seeded(7):
        np.testing.assert_array_equal(torch.rand(2), inside)


def test_seeds_and_generators_are_reproducible():
    assert draw_seed(0) == draw_seed(0) != draw_seed(1)
    assert 0 <= draw_seed(np.random.RandomState(5)) < 2**31
    a = torch.rand(4, generator=make_generator(11, torch.device("cpu")))
    b = torch.rand(4, generator=make_generator(11, torch.device("cpu")))
    np.testing.assert_array_equal(a, b)


def test_precision_contexts_on_the_cpu():
    cpu = torch.device("cpu")
    assert check_precision("32", cpu) == "32" and check_precision("bf16", cpu) == "bf16"
    with pytest.raises(ValueError, match="precision must be one of"):
        check_precision("16", cpu)
    layer = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with autocast(cpu, "bf16"):
        assert layer(x).dtype == torch.bfloat16
    with autocast(cpu, "32"):
        assert layer(x).dtype == torch.float32
    before = torch.backends.cuda.matmul.fp32_precision
    with fast_float32(cpu):  # leaves the CUDA setting alone off CUDA
        assert torch.backends.cuda.matmul.fp32_precision == before
